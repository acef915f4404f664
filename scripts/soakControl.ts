import { fork, type ChildProcess } from 'node:child_process';
import type { SoakCommand, SoakReply } from './soakServer.ts';

/** The soak's chaos gateway child process, and a request/reply channel to it. */
export class SoakServer {
  #nextId = 1;
  readonly #pending = new Map<number, (result: unknown) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (reply: SoakReply) => {
      if (!('id' in reply)) return;
      this.#pending.get(reply.id)?.(reply.result);
      this.#pending.delete(reply.id);
    });
  }

  static start(token: string): Promise<SoakServer> {
    const child = fork(new URL('./soakServer.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, SOAK_TOKEN: token },
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the soak server exited early (${code})`)));
      child.on('message', function listening(reply: SoakReply) {
        if (!('type' in reply)) return;
        child.off('message', listening);
        child.removeAllListeners('exit');
        resolve(new SoakServer(child, reply.url));
      });
    });
  }

  request(command: SoakCommand): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.child.send({ ...command, id });
    });
  }

  /** Closes the server and waits for the process to exit. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request({ cmd: 'close' });
    await exited;
  }
}
