import { defaultSessionStoreTimeoutMs } from '../core/defaults.ts';
import { maxTimerMs } from '../core/validation.ts';
import { boundedStoreCall, checkShardId, sessionStoreTtlMs } from './storedSession.ts';
import type { SessionStore, StoredSession } from './types.ts';

export interface SessionRecorderOptions {
  store: SessionStore;
  shardId: number;
  /** stored with every session: a session only resumes under the shard count it was made with */
  shardCount: number;
  /** background writes happen at most once per this many ms (default 1000) */
  intervalMs?: number;
  /** the longest wait for one store write; past it the write is reported and retried (default 10 s) */
  timeoutMs?: number;
  /** hears a background write that failed or timed out (once per hang); it is retried one interval later */
  onError?: (error: Error) => void;
}

/** What a shard knows of its session; the recorder adds the shard count. */
export type RecordedSession = Omit<StoredSession, 'shardCount'>;

export interface SessionRecorder {
  /** The session changed: stored within one interval, never once per dispatch. */
  update(session: RecordedSession): void;
  /** The session's sequence moved (a dispatch): as `update`, without building a session per event. */
  advance(sequence: number): void;
  /** Stores the latest session now (READY, RESUMED, close). Rejects when the store does, or does not answer in time. */
  flush(): Promise<void>;
  /** Forgets the shard's session in the store (it can no longer be resumed). Bounded as `flush`. */
  clear(): Promise<void>;
  /** Stores what is still unwritten; later updates are ignored. Bounded as `flush`. */
  close(): Promise<void>;
}

/**
 * Keeps one shard's stored session close behind its live one at a bounded cost: a burst of
 * dispatches becomes one store write, at most one per interval (with a trailing write, so the last
 * sequence is never left unwritten), while READY/RESUMED and close write at once. Writes to the
 * store never overlap, so the store always ends with the newest value.
 *
 * A store whose entries expire (`store.ttlMs`) gets the live session again every third of its TTL
 * even when nothing changed, so a quiet shard's session outlives any pause in its events.
 *
 * The store is user code and may hang: every promise the recorder returns settles within
 * `timeoutMs`, and a store call that never answers is never called again beside itself (the next
 * write waits for it), so a hung store costs one pending call per shard, not one per interval, and
 * one report per hang.
 */
export function createSessionRecorder(options: SessionRecorderOptions): SessionRecorder {
  const { store, shardId, shardCount, intervalMs = 1000, timeoutMs = defaultSessionStoreTimeoutMs, onError } = options;
  if (!store || typeof store.get !== 'function' || typeof store.set !== 'function') {
    throw new TypeError('createSessionRecorder: store must be a SessionStore (get and set)');
  }
  checkShardId(shardId, 'createSessionRecorder');
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) throw new TypeError('createSessionRecorder: shardCount must be an integer ≥ 1');
  if (!(Number.isFinite(intervalMs) && intervalMs >= 0)) throw new TypeError('createSessionRecorder: intervalMs must be a number ≥ 0');
  if (!(Number.isFinite(timeoutMs) && timeoutMs >= 1 && timeoutMs <= maxTimerMs)) {
    throw new TypeError(`createSessionRecorder: timeoutMs must be a number of ms between 1 and ${maxTimerMs}`);
  }
  const ttlMs = sessionStoreTtlMs(store, 'createSessionRecorder');
  // A third, so that a refresh that fails once is retried long before the entry expires.
  const refreshMs = ttlMs === undefined ? undefined : Math.min(ttlMs / 3, maxTimerMs);

  let latest: StoredSession | null = null;
  let dirty = false;
  let closed = false;
  let lastWriteAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** the store call in flight: settles when the store answers, however late */
  let storeCall: Promise<void> | null = null;
  /** the next write, waiting for `storeCall`, bounded once: every write asked for meanwhile joins it */
  let queued: Promise<void> | null = null;
  let lastWrite: Promise<void> = Promise.resolve();
  let lastReported: unknown;

  // Every background write that joins one hung write hears the same error: it is reported once.
  const report = (error: unknown) => {
    if (error === lastReported) return;
    lastReported = error;
    onError?.(error instanceof Error ? error : new Error(String(error)));
  };

  const cancelTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const cancelRefresh = () => {
    if (refreshTimer !== undefined) clearTimeout(refreshTimer);
    refreshTimer = undefined;
  };

  function schedule(): void {
    if (timer !== undefined || closed) return;
    const wait = Math.max(0, lastWriteAt + intervalMs - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      write().catch(report);
    }, wait);
  }

  function scheduleRefresh(): void {
    cancelRefresh();
    if (refreshMs === undefined || closed || latest === null) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      if (closed || latest === null) return;
      dirty = true;
      write().catch(report);
    }, refreshMs);
    // The refresh exists for a running shard, whose socket keeps the process alive anyway.
    (refreshTimer as { unref?: () => void }).unref?.();
  }

  /** One store write of whatever is latest when its turn comes. */
  async function run(): Promise<void> {
    queued = null;
    if (!dirty) return;
    // A copy: `latest` keeps moving with every dispatch, and a store may keep what it is given.
    const value = latest && { ...latest };
    dirty = false;
    lastWriteAt = Date.now();
    cancelRefresh();
    const call = new Promise<void>((resolve) => resolve(store.set(shardId, value)));
    const settled = call.then(
      () => {},
      () => {},
    );
    storeCall = settled;
    void settled.then(() => {
      if (storeCall === settled) storeCall = null;
    });
    try {
      await call;
    } catch (error) {
      // The value may not be stored: keep it due and try again one interval later.
      dirty = true;
      schedule();
      throw error;
    }
    scheduleRefresh();
  }

  /**
   * Queues a write, or joins the one queued, and waits for it at most `timeoutMs` from when it was
   * queued. One bound per queued write, whoever joins it, so waits on a store that hangs add nothing.
   */
  function write(): Promise<void> {
    if (!queued) {
      const turn = (storeCall ?? Promise.resolve()).then(run);
      queued = boundedStoreCall(() => turn, timeoutMs, `storing the session of shard ${shardId}`);
      // Failed or unanswered: a background write an interval from now reports it and tries again.
      queued.catch(() => schedule());
    }
    lastWrite = queued.catch(() => {});
    return queued;
  }

  return {
    update(session) {
      if (closed) return;
      latest = { sessionId: session.sessionId, sequence: session.sequence, resumeUrl: session.resumeUrl, shardCount };
      dirty = true;
      schedule();
    },
    advance(sequence) {
      if (closed || latest === null) return;
      latest.sequence = sequence;
      dirty = true;
      schedule();
    },
    flush() {
      if (closed) return lastWrite;
      cancelTimer();
      return write();
    },
    clear() {
      if (closed) return lastWrite;
      cancelTimer();
      latest = null;
      dirty = true;
      return write();
    },
    close() {
      if (closed) return lastWrite;
      cancelTimer();
      cancelRefresh();
      closed = true;
      return write();
    },
  };
}
