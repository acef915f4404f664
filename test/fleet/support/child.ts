import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A TypeScript script in a real OS process (through tsx) that talks in JSON lines on stdout, so a
 * test can watch it, kill it with SIGKILL and see what it had done by then.
 */
export class ScriptProcess {
  readonly lines: unknown[] = [];
  readonly exited: Promise<number | null>;
  #stderr = '';
  #waiters: (() => void)[] = [];

  private constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const part of parts) if (part.trim()) this.lines.push(JSON.parse(part));
      for (const wake of this.#waiters.splice(0)) wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        for (const wake of this.#waiters.splice(0)) wake();
        resolve(code);
      }),
    );
  }

  static start(script: string, args: string[] = [], env: Record<string, string> = {}): ScriptProcess {
    const path = fileURLToPath(new URL(script, import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ScriptProcess(child);
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Waits until a line matches, or fails after `timeoutMs` with what the process said. */
  async until<T>(match: (line: unknown) => line is T, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process ended (${this.child.exitCode ?? this.child.signalCode}) first; stderr:\n${this.#stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching line within ${timeoutMs} ms; stderr:\n${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
