import type { IdentifyTurnHandle } from '../types.ts';

/**
 * The two seams of a shard fleet: who may IDENTIFY when (an identify queue), and where a shard's
 * session is kept between connections and processes (a session store). The shard manager takes
 * both; this package ships in-memory, file and Redis implementations.
 */

/** Something the queue wants the caller to know while a wait goes on; never an end of the wait. */
export type IdentifyNotice =
  /** the daily IDENTIFY budget is spent: the wait goes on until it resets, `retryAfterMs` from now */
  | { code: 'IDENTIFY_BUDGET_EXHAUSTED'; retryAfterMs: number }
  /** the coordinator (e.g. Redis) did not answer; the queue tries again in `retryInMs` */
  | { code: 'COORDINATOR_UNAVAILABLE'; cause: Error; retryInMs: number };

export interface IdentifyQueue {
  /**
   * Resolves when `shardId` may send IDENTIFY now (the grant is spent: one per bucket per window,
   * one from the daily budget). Rejects with an `AbortError` when `signal` aborts, and the aborted
   * wait then holds no place and spends nothing. `report` hears every notice while it waits.
   */
  wait(shardId: number, signal?: AbortSignal, report?: (notice: IdentifyNotice) => void): Promise<void>;
  /**
   * Optional, and what a shard uses when the queue has it: a wait whose grant holds the bucket
   * until the caller says the IDENTIFY went out (`sent()`, and the bucket's window runs from then,
   * however long the socket took to open) or that none will (`release()`: the bucket reopens and
   * the budget gets it back), at most `holdMs` (the caller's connect and HELLO timeouts) if it
   * says neither. A shard asks before its socket opens, so it holds no connection while it waits.
   */
  reserve?(shardId: number, options: IdentifyReservationOptions): Promise<IdentifyTurnHandle>;
  /** Ends the queue: waits still pending reject with `IdentifyQueueClosedError`. */
  close?(): Promise<void> | void;
}

export interface IdentifyReservationOptions {
  /** how long a grant may stay unused before the bucket is treated as used at the grant */
  holdMs: number;
  signal?: AbortSignal;
  report?: (notice: IdentifyNotice) => void;
}

export interface StoredSession {
  sessionId: string;
  /** the last sequence number received */
  sequence: number;
  /** the resume URL from READY, or null to resume on the main URL */
  resumeUrl: string | null;
  /** the shard count the session was identified with; a different count cannot resume it */
  shardCount: number;
}

export interface SessionStore {
  /**
   * How long a stored session lives after its last write, for a store whose entries expire (e.g.
   * Redis). Whoever keeps a live session in the store rewrites it well within this, even while
   * nothing about it changes, so a quiet shard's session never expires while the shard runs.
   */
  readonly ttlMs?: number;
  /** The stored session of a shard, or null (none, expired, or unreadable). */
  get(shardId: number): Promise<StoredSession | null>;
  /** Stores a shard's session; null forgets it. */
  set(shardId: number, session: StoredSession | null): Promise<void>;
}

/** The error a wait rejects with when its signal aborts. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const error = new Error('the identify wait was aborted', { cause: reason });
  error.name = 'AbortError';
  return error;
}

export class IdentifyQueueClosedError extends Error {
  override readonly name = 'IdentifyQueueClosedError';
  readonly code = 'IDENTIFY_QUEUE_CLOSED';
  constructor() {
    super('the identify queue was closed while a shard waited');
  }
}
