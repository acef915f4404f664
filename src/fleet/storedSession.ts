import { settleWithin } from '../core/settleWithin.ts';
import type { SessionStore, StoredSession } from './types.ts';

/**
 * Reads a stored session back from untrusted data (a file, Redis): anything that is not a whole,
 * valid session is null, so a corrupt entry costs one IDENTIFY, never a crash or a bad RESUME.
 */
export function parseStoredSession(value: unknown): StoredSession | null {
  if (typeof value !== 'object' || value === null) return null;
  const { sessionId, sequence, resumeUrl, shardCount } = value as Record<string, unknown>;
  if (typeof sessionId !== 'string' || sessionId.length === 0) return null;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) return null;
  if (resumeUrl !== null && typeof resumeUrl !== 'string') return null;
  if (typeof shardCount !== 'number' || !Number.isSafeInteger(shardCount) || shardCount < 1) return null;
  return { sessionId, sequence, resumeUrl, shardCount };
}

/** Checks what a caller asks to store, so bad data is refused at `set`, not found at `get`. */
export function checkStoredSession(session: StoredSession | null, where: string): void {
  if (session !== null && parseStoredSession(session) === null) {
    throw new TypeError(
      `${where}: a session needs a non-empty sessionId, an integer sequence ≥ 0, a resumeUrl string or null, and an integer shardCount ≥ 1`,
    );
  }
}

export function checkShardId(shardId: unknown, where: string): asserts shardId is number {
  if (typeof shardId !== 'number' || !Number.isSafeInteger(shardId) || shardId < 0) {
    throw new TypeError(`${where}: shardId must be an integer ≥ 0, got ${String(shardId)}`);
  }
}

/**
 * Waits for a session store's answer at most `timeoutMs`: a call that throws, rejects or never
 * answers becomes a rejection within the bound, and an answer that comes later is dropped. A store
 * is user code, so nothing that waits on it may wait forever.
 */
export function boundedStoreCall<T>(call: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return settleWithin(
    new Promise<T>((answer) => answer(call())),
    timeoutMs,
    () => new Error(`the session store did not answer within ${timeoutMs} ms (${what})`),
  );
}

/** The TTL a store declares (`SessionStore.ttlMs`), checked: undefined when its entries do not expire. */
export function sessionStoreTtlMs(store: SessionStore, where: string): number | undefined {
  const { ttlMs } = store;
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 1) {
    throw new TypeError(`${where}: the session store's ttlMs must be a number of ms ≥ 1 or undefined, got ${String(ttlMs)}`);
  }
  return ttlMs;
}
