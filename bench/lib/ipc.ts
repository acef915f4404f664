import { fork, type ChildProcess } from 'node:child_process';

/**
 * Request/response calls to a child process over Node's IPC channel. The child module builds an
 * object of handlers and calls `serve(handlers)`; the parent starts it with `Child.start()` and gets
 * a typed `call()`.
 */

type Handlers = Record<string, (params: any) => unknown>;

interface Request {
  id: number;
  method: string;
  params: unknown;
}

type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

const readyMessage = 'bench:ready';

/** In the child: answers calls until the parent disconnects, then runs `cleanup` and ends. */
export function serve(handlers: Handlers, cleanup: () => Promise<void> | void = () => {}): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('serve() must run in a child process started with an IPC channel');
  process.on('message', (message: Request) => {
    const handler = handlers[message.method];
    void (async () => {
      try {
        if (!handler) throw new Error(`no handler named ${message.method}`);
        const result = await handler(message.params);
        send({ id: message.id, ok: true, result: result ?? null } satisfies Response);
      } catch (error) {
        send({
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies Response);
      }
    })();
  });
  process.once('disconnect', () => {
    void (async () => {
      try {
        await cleanup();
      } finally {
        // A clean child has nothing left to run now and ends by itself; this only reports a leak.
        setTimeout(() => {
          console.error(`bench child ${process.argv[1] ?? ''}: handles still open 2 s after cleanup; exiting`);
          process.exit(1);
        }, 2_000).unref();
      }
    })();
  });
  send(readyMessage);
}

export interface ChildOptions {
  /** extra node flags, e.g. --expose-gc */
  nodeFlags?: readonly string[];
  /** exposed to the child as process.argv[2…] */
  args?: readonly string[];
  /** run a .ts entry through the tsx loader; a compiled .js entry needs none */
  tsx?: boolean;
}

export class Child<H extends Handlers> {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; method: string }>();
  readonly #exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (message: Response | string) => {
      if (typeof message !== 'object') return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`${name}.${pending.method} failed in the child:\n${message.error}`));
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const { reject, method } of this.#pending.values()) {
          reject(new Error(`${name} exited (${signal ?? code}) during ${method}`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  static async start<H extends Handlers>(entry: string, name: string, options: ChildOptions = {}): Promise<Child<H>> {
    const loader = options.tsx ? ['--import', import.meta.resolve('tsx')] : [];
    const child = fork(entry, [...(options.args ?? [])], {
      execArgv: [...loader, ...(options.nodeFlags ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const handle = new Child<H>(child, name);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (message !== readyMessage) return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve();
      };
      const onExit = (code: number | null) => reject(new Error(`${name} exited (${code}) before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return handle;
  }

  call<K extends keyof H & string>(method: K, ...params: Parameters<H[K]>): Promise<Awaited<ReturnType<H[K]>>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, method });
      this.child.send({ id, method, params: params[0] } satisfies Request);
    });
  }

  /** Disconnects; the child cleans up and exits by itself (killed only if it hangs). */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
