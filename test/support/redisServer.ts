import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * A real `redis-server` (Debian's package) for the tests: on a free loopback port, persistence off,
 * started and stopped by the test. `restart()` brings it back on the same port, empty, as after a
 * crash of a Redis without persistence.
 */

export const redisServerPath = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';
export const haveRedisServer = existsSync(redisServerPath);
export const redisMissing = `redis-server not found at ${redisServerPath}: this Redis test DID NOT RUN (install it with \`apt-get install -y redis-server\`, or set REDIS_SERVER_PATH)`;
export const inCI = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

export class RedisServer {
  #process: ChildProcess | undefined;
  #log = '';

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.#launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  async #launch(): Promise<void> {
    const child = spawn(
      redisServerPath,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (chunk: Buffer) => (this.#log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.#log += chunk.toString()));
    this.#process = child;
    const deadline = Date.now() + 10_000;
    while (!(await ping(this.port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${this.#log}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 10 s:\n${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** Starts it again on the same port, empty. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#launch();
  }
}

/**
 * A describe block that needs a real redis-server. Without one it does not pass quietly: it says
 * DID NOT RUN, and under CI=true it fails.
 */
export function describeWithRedis(name: string, body: () => void, describe: (name: string, body: () => void) => void, it: RedisIt): void {
  if (haveRedisServer) return describe(name, body);
  describe(name, () => {
    if (inCI) {
      it('needs redis-server in CI', () => {
        throw new Error(redisMissing);
      });
    } else {
      console.warn(`\n⚠  ${redisMissing}\n`);
      it(`NOT RUN: ${redisMissing}`, ({ annotate }) => {
        void annotate(redisMissing, 'warning');
        if (existsSync(redisServerPath)) throw new Error('redis-server appeared meanwhile');
      });
    }
  });
}

type RedisIt = (name: string, body: (context: { annotate: (message: string, type: string) => Promise<unknown> }) => void) => void;
