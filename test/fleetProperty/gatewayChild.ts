import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GatewayHandlers } from './support/gatewayProcess.ts';

type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/**
 * The parent's side of gatewayProcess.ts: one child process for many schedules, each of which
 * starts its own chaos gateway in it. Calls are answered in the child's own time, so what a call
 * returns (e.g. the connection count at a fault) is exact there.
 */
export class GatewayChild {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; method: string }>();
  readonly #exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: Response | string) => {
      if (typeof message !== 'object') return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`chaos gateway process: ${pending.method} failed:\n${message.error}`));
    });
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const { reject, method } of this.#pending.values())
          reject(new Error(`chaos gateway process exited (${signal ?? code}) during ${method}`));
        this.#pending.clear();
        resolve();
      }),
    );
  }

  static async start(): Promise<GatewayChild> {
    const entry = fileURLToPath(new URL('./support/gatewayProcess.ts', import.meta.url));
    const child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const handle = new GatewayChild(child);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (message !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) => reject(new Error(`the chaos gateway process exited (${code}) before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return handle;
  }

  call<K extends keyof GatewayHandlers>(
    method: K,
    ...params: Parameters<GatewayHandlers[K]>
  ): Promise<Awaited<ReturnType<GatewayHandlers[K]>>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (!this.child.connected) return reject(new Error(`the chaos gateway process is gone (calling ${method})`));
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, method });
      this.child.send({ id, method, params: params[0] });
    });
  }

  /** Disconnects; the child closes its gateway and exits by itself, or is killed after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
