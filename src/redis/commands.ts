import { settleWithin } from '../core/settleWithin.ts';
import type { Cluster, Redis } from 'ioredis';
import type { LuaScript } from './scripts.ts';

/** The user's ioredis client: a single node, or a cluster (every key of one queue shares a slot). */
export type RedisClient = Redis | Cluster;

export class CoordinatorTimeoutError extends Error {
  override readonly name = 'CoordinatorTimeoutError';
  constructor(
    readonly timeoutMs: number,
    what = 'Redis',
  ) {
    super(`${what} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * A command bounded in time: ioredis queues commands while it reconnects (and may retry them),
 * so without a bound a wait could hang for as long as Redis is away. A command that timed out may
 * still run on Redis later: the identify queue's scripts are written so that running one again, or
 * late, never spends twice (see attemptScript).
 */
export function bounded<T>(command: Promise<T>, timeoutMs: number, what?: string): Promise<T> {
  return settleWithin(command, timeoutMs, () => new CoordinatorTimeoutError(timeoutMs, what));
}

/** EVALSHA, falling back to EVAL once when Redis does not know the script (first use, restart, failover). */
export async function runScript(redis: RedisClient, script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}

export function checkRedisOptions(where: string, redis: unknown, prefix: unknown): void {
  const client = redis as Partial<Record<'evalsha' | 'eval' | 'get' | 'set' | 'del' | 'exists', unknown>> | null;
  if (
    !client ||
    typeof client !== 'object' ||
    !['evalsha', 'eval', 'get', 'set', 'del', 'exists'].every((name) => typeof client[name as 'get'] === 'function')
  ) {
    throw new TypeError(`${where}: redis must be an ioredis client (Redis or Cluster)`);
  }
  if (typeof prefix !== 'string' || prefix.length === 0) throw new TypeError(`${where}: prefix must be a non-empty string`);
}

/** Sleeps, waking early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
