import { checkShardId } from './storedSession.ts';
import type { SessionStore, StoredSession } from './types.ts';

export interface SessionRecorderOptions {
  store: SessionStore;
  shardId: number;
  /** stored with every session: a session only resumes under the shard count it was made with */
  shardCount: number;
  /** background writes happen at most once per this many ms (default 1000) */
  intervalMs?: number;
  /** hears a background write that failed; it is retried one interval later */
  onError?: (error: Error) => void;
}

/** What a shard knows of its session; the recorder adds the shard count. */
export type RecordedSession = Omit<StoredSession, 'shardCount'>;

export interface SessionRecorder {
  /** The session changed: stored within one interval, never once per dispatch. */
  update(session: RecordedSession): void;
  /** The session's sequence moved (a dispatch): as `update`, without building a session per event. */
  advance(sequence: number): void;
  /** Stores the latest session now (READY, RESUMED, close). Rejects when the store does. */
  flush(): Promise<void>;
  /** Forgets the shard's session in the store (it can no longer be resumed). */
  clear(): Promise<void>;
  /** Stores what is still unwritten; later updates are ignored. */
  close(): Promise<void>;
}

/**
 * Keeps one shard's stored session close behind its live one at a bounded cost: a burst of
 * dispatches becomes one store write, at most one per interval (with a trailing write, so the last
 * sequence is never left unwritten), while READY/RESUMED and close write at once. Writes to the
 * store never overlap, so the store always ends with the newest value.
 */
export function createSessionRecorder(options: SessionRecorderOptions): SessionRecorder {
  const { store, shardId, shardCount, intervalMs = 1000, onError } = options;
  if (!store || typeof store.get !== 'function' || typeof store.set !== 'function') {
    throw new TypeError('createSessionRecorder: store must be a SessionStore (get and set)');
  }
  checkShardId(shardId, 'createSessionRecorder');
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) throw new TypeError('createSessionRecorder: shardCount must be an integer ≥ 1');
  if (!(Number.isFinite(intervalMs) && intervalMs >= 0)) throw new TypeError('createSessionRecorder: intervalMs must be a number ≥ 0');

  let latest: StoredSession | null = null;
  let dirty = false;
  let closed = false;
  let lastWriteAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writes: Promise<void> = Promise.resolve();

  const cancelTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };

  function schedule(): void {
    if (timer !== undefined || closed) return;
    const wait = Math.max(0, lastWriteAt + intervalMs - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      write().catch((error: unknown) => onError?.(error instanceof Error ? error : new Error(String(error))));
    }, wait);
  }

  /** Queues one store write of whatever is latest when its turn comes. */
  function write(): Promise<void> {
    const run = async () => {
      if (!dirty) return;
      // A copy: `latest` keeps moving with every dispatch, and a store may keep what it is given.
      const value = latest && { ...latest };
      dirty = false;
      lastWriteAt = Date.now();
      try {
        await store.set(shardId, value);
      } catch (error) {
        // The value may not be stored: keep it due and try again one interval later.
        dirty = true;
        schedule();
        throw error;
      }
    };
    const result = writes.then(run);
    writes = result.catch(() => {});
    return result;
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
      if (closed) return writes;
      cancelTimer();
      return write();
    },
    clear() {
      if (closed) return writes;
      cancelTimer();
      latest = null;
      dirty = true;
      return write();
    },
    close() {
      if (closed) return writes;
      cancelTimer();
      closed = true;
      return write();
    },
  };
}
