import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSessionRecorder } from '../../src/fleet/sessionRecorder.ts';
import type { SessionStore, StoredSession } from '../../src/fleet/types.ts';

/** A store that records every call and lets a test hold writes in flight or make them fail. */
class RecordingStore implements SessionStore {
  readonly sets: { at: number; session: StoredSession | null }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  hold = false;
  failNext = 0;
  #held: (() => void)[] = [];
  stored: StoredSession | null = null;

  async get(): Promise<StoredSession | null> {
    return this.stored;
  }

  async set(_shardId: number, session: StoredSession | null): Promise<void> {
    this.sets.push({ at: Date.now(), session });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
      if (this.failNext > 0) {
        this.failNext -= 1;
        throw new Error('store unavailable');
      }
      this.stored = session;
    } finally {
      this.inFlight -= 1;
    }
  }

  release(): void {
    this.hold = false;
    for (const resolve of this.#held.splice(0)) resolve();
  }
}

const at = (sequence: number) => ({ sessionId: 's1', sequence, resumeUrl: null });

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createSessionRecorder', () => {
  it('turns a stream of sequence moves into at most one write per interval, the last value included', async () => {
    const store = new RecordingStore();
    const recorder = createSessionRecorder({ store, shardId: 3, shardCount: 8, intervalMs: 1000 });
    // 10 seconds of dispatches, one every 5 ms: 2,000 sequence moves.
    for (let sequence = 1; sequence <= 2000; sequence++) {
      recorder.update(at(sequence));
      await vi.advanceTimersByTimeAsync(5);
    }
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.sets.length).toBeGreaterThanOrEqual(10);
    expect(store.sets.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < store.sets.length; i++) expect(store.sets[i]!.at - store.sets[i - 1]!.at).toBeGreaterThanOrEqual(1000);
    // The trailing write stored the very last sequence, with the shard count added.
    expect(store.stored).toEqual({ sessionId: 's1', sequence: 2000, resumeUrl: null, shardCount: 8 });
    // Nothing more to write: the timers are quiet.
    await vi.advanceTimersByTimeAsync(5000);
    expect(store.sets.length).toBeLessThanOrEqual(11);
  });

  it('writes a lone update within the interval, not at once per call', async () => {
    const store = new RecordingStore();
    const recorder = createSessionRecorder({ store, shardId: 0, shardCount: 1 });
    recorder.update(at(1));
    recorder.update(at(2));
    recorder.update(at(3));
    expect(store.sets).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(store.sets.map((s) => s.session?.sequence)).toEqual([3]);
    recorder.update(at(4));
    await vi.advanceTimersByTimeAsync(999);
    expect(store.sets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.sets.map((s) => s.session?.sequence)).toEqual([3, 4]);
  });

  it('flush writes at once and takes the place of the pending write', async () => {
    const store = new RecordingStore();
    const recorder = createSessionRecorder({ store, shardId: 0, shardCount: 2 });
    recorder.update(at(10));
    await recorder.flush();
    expect(store.sets.map((s) => s.session?.sequence)).toEqual([10]);
    recorder.update(at(11));
    await recorder.flush();
    expect(store.sets.map((s) => s.session?.sequence)).toEqual([10, 11]);
    // Nothing new since the flush: no write later either, and a flush with nothing new is free.
    await recorder.flush();
    await vi.advanceTimersByTimeAsync(3000);
    expect(store.sets).toHaveLength(2);
  });

  it('never has two writes in flight, and the store ends with the newest value', async () => {
    const store = new RecordingStore();
    const recorder = createSessionRecorder({ store, shardId: 0, shardCount: 1, intervalMs: 100 });
    store.hold = true;
    recorder.update(at(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(store.inFlight).toBe(1);
    recorder.update(at(2));
    const flushed = recorder.flush();
    recorder.update(at(3));
    await vi.advanceTimersByTimeAsync(500);
    expect(store.maxInFlight).toBe(1);
    store.release();
    await flushed;
    await vi.advanceTimersByTimeAsync(500);
    expect(store.maxInFlight).toBe(1);
    expect(store.stored?.sequence).toBe(3);
  });

  it('clear forgets the session in the store, and later updates store again', async () => {
    const store = new RecordingStore();
    const recorder = createSessionRecorder({ store, shardId: 0, shardCount: 1 });
    recorder.update(at(5));
    await recorder.flush();
    recorder.update(at(6));
    await recorder.clear();
    expect(store.stored).toBeNull();
    await vi.advanceTimersByTimeAsync(2000);
    expect(store.stored).toBeNull();
    recorder.update({ sessionId: 's2', sequence: 1, resumeUrl: null });
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.stored?.sessionId).toBe('s2');
  });

  it('close writes what is unwritten and ignores later updates', async () => {
    const store = new RecordingStore();
    const recorder = createSessionRecorder({ store, shardId: 0, shardCount: 1 });
    recorder.update(at(1));
    await vi.advanceTimersByTimeAsync(0);
    recorder.update(at(2));
    await recorder.close();
    expect(store.sets.map((s) => s.session?.sequence)).toEqual([1, 2]);
    recorder.update(at(3));
    await recorder.flush();
    await vi.advanceTimersByTimeAsync(5000);
    expect(store.sets).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports a failed background write and retries it one interval later; a failed flush rejects', async () => {
    const store = new RecordingStore();
    const errors: Error[] = [];
    const recorder = createSessionRecorder({ store, shardId: 0, shardCount: 1, onError: (error) => errors.push(error) });
    store.failNext = 1;
    recorder.update(at(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors.map((e) => e.message)).toEqual(['store unavailable']);
    expect(store.stored).toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.stored?.sequence).toBe(1);

    store.failNext = 1;
    recorder.update(at(2));
    await expect(recorder.flush()).rejects.toThrow('store unavailable');
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.stored?.sequence).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it("rewrites a live session every third of the store's TTL while nothing moves it, and stops once it is closed", async () => {
    const store = Object.assign(new RecordingStore(), { ttlMs: 900 });
    const recorder = createSessionRecorder({ store, shardId: 0, shardCount: 1, intervalMs: 1000 });
    recorder.update(at(7));
    await recorder.flush();
    // Ten seconds without a single event: the entry would have expired eleven times over.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.sets.length).toBeGreaterThanOrEqual(30);
    for (let i = 1; i < store.sets.length; i++) expect(store.sets[i]!.at - store.sets[i - 1]!.at).toBeLessThanOrEqual(300);
    expect(store.stored).toEqual({ sessionId: 's1', sequence: 7, resumeUrl: null, shardCount: 1 });
    await recorder.close();
    const count = store.sets.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.sets).toHaveLength(count);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refreshes nothing after clear (a forgotten session stays forgotten), nor for a store without a TTL', async () => {
    const expiring = Object.assign(new RecordingStore(), { ttlMs: 600 });
    const cleared = createSessionRecorder({ store: expiring, shardId: 0, shardCount: 1 });
    cleared.update(at(1));
    await cleared.flush();
    await cleared.clear();
    const lasting = new RecordingStore();
    const plain = createSessionRecorder({ store: lasting, shardId: 0, shardCount: 1 });
    plain.update(at(1));
    await plain.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(expiring.sets.map((set) => set.session?.sequence ?? null)).toEqual([1, null]);
    expect(lasting.sets).toHaveLength(1);
  });

  it('a store that never answers: each wait ends within timeoutMs and is reported, and no second call joins the hung one', async () => {
    let calls = 0;
    let answer: (() => void) | undefined;
    const hung: SessionStore = {
      get: async () => null,
      set: (_shardId, session) => {
        calls += 1;
        return new Promise<void>((resolve) => {
          answer = () => {
            hungStored = session;
            resolve();
          };
        });
      },
    };
    let hungStored: StoredSession | null = null;
    const errors: Error[] = [];
    const recorder = createSessionRecorder({
      store: hung,
      shardId: 2,
      shardCount: 4,
      intervalMs: 100,
      timeoutMs: 500,
      onError: (error) => errors.push(error),
    });
    recorder.update(at(1));
    const flushed = recorder.flush();
    const outcome = flushed.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await vi.advanceTimersByTimeAsync(500);
    expect(await outcome).toMatch(/did not answer within 500 ms/);
    // Ten seconds of events while the store hangs: still one call, and the hang reported once (by
    // the background write that followed the flush), not once per interval.
    for (let sequence = 2; sequence <= 200; sequence++) {
      recorder.advance(sequence);
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(calls).toBe(1);
    expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/did not answer within 500 ms/)]);
    // Waiting on it costs nothing more as time goes on: one pending bound at most, no busy retries.
    expect(vi.getTimerCount()).toBeLessThanOrEqual(2);
    // The late answer lets the newest value through, once.
    answer!();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
    answer!();
    await vi.advanceTimersByTimeAsync(1000);
    expect(hungStored).toEqual({ sessionId: 's1', sequence: 200, resumeUrl: null, shardCount: 4 });
    expect(calls).toBe(2);
  });

  it('close on a store that never answers settles within timeoutMs and leaves no timer behind', async () => {
    const hung: SessionStore = { get: async () => null, set: () => new Promise<void>(() => {}) };
    const recorder = createSessionRecorder({ store: hung, shardId: 0, shardCount: 1, timeoutMs: 300 });
    recorder.update(at(1));
    const closed = recorder.close().then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(await closed).toMatch(/did not answer within 300 ms/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses bad options with a TypeError naming the option', () => {
    const store = new RecordingStore();
    expect(() => createSessionRecorder({ store, shardId: -1, shardCount: 1 })).toThrow(/shardId/);
    expect(() => createSessionRecorder({ store, shardId: 0, shardCount: 0 })).toThrow(/shardCount/);
    expect(() => createSessionRecorder({ store, shardId: 0, shardCount: 1, intervalMs: -5 })).toThrow(/intervalMs/);
    expect(() => createSessionRecorder({ store: {} as SessionStore, shardId: 0, shardCount: 1 })).toThrow(/store/);
    expect(() => createSessionRecorder({ store, shardId: 0, shardCount: 1, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => createSessionRecorder({ store: Object.assign(new RecordingStore(), { ttlMs: -1 }), shardId: 0, shardCount: 1 })).toThrow(
      /ttlMs/,
    );
  });
});
