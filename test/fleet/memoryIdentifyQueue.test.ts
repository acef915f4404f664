import { createActor, setup, SimulatedClock, type ActorRefFrom } from 'xstate';
import { identifyQueueMachine, identifyQueueStatus } from '../../src/fleet/identifyQueueMachine.ts';
import { describe, expect, it, vi } from 'vitest';
import * as publicApi from '../../src/index.ts';
import {
  identifyQueueInput,
  identifyQueueOverActor,
  memoryIdentifyQueue,
  type MemoryIdentifyQueueOptions,
  type QueueClock,
} from '../../src/fleet/memoryIdentifyQueue.ts';
import { IdentifyQueueClosedError, type IdentifyNotice } from '../../src/fleet/types.ts';

/**
 * The in-process identify queue under XState's SimulatedClock: every grant is recorded with the
 * simulated time it happened at, so pacing and budget are checked exactly.
 */
function rig(options: Omit<MemoryIdentifyQueueOptions, 'clock'>) {
  const clock = new SimulatedClock();
  const queue = publicApi.memoryIdentifyQueue({ ...options, clock });
  const grants: { shardId: number; at: number }[] = [];
  const notices: { shardId: number; notice: IdentifyNotice; at: number }[] = [];
  const outcomes = new Map<number, Promise<void>>();
  const ask = (shardId: number, signal?: AbortSignal) => {
    const waiting = queue.wait(shardId, signal, (notice) => notices.push({ shardId, notice, at: clock.now() }));
    const outcome = waiting.then(() => {
      grants.push({ shardId, at: clock.now() });
    });
    outcome.catch(() => {});
    outcomes.set(shardId, outcome);
    return outcome;
  };
  /** Moves simulated time on, letting granted promises settle after each step. */
  const advance = async (ms: number, stepMs = Math.max(1, Math.floor(ms / 50))) => {
    await settle();
    for (let passed = 0; passed < ms; passed += stepMs) {
      clock.increment(Math.min(stepMs, ms - passed));
      await settle();
    }
  };
  return { clock, queue, grants, notices, ask, advance, outcomes };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Asserts that no two grants of one bucket came less than a window apart. */
function expectPaced(grants: { shardId: number; at: number }[], maxConcurrency: number, windowMs: number) {
  const last = new Map<number, number>();
  for (const { shardId, at } of grants) {
    const bucket = shardId % maxConcurrency;
    const before = last.get(bucket);
    if (before !== undefined) expect(at - before, `bucket ${bucket}`).toBeGreaterThanOrEqual(windowMs);
    last.set(bucket, at);
  }
}

describe('memoryIdentifyQueue', () => {
  it('grants one IDENTIFY per bucket per window, buckets in order, all shards in ceil(n / maxConcurrency) windows', async () => {
    const { queue, grants, ask, advance } = rig({
      maxConcurrency: 4,
      windowMs: 5000,
      budget: { remaining: 1000, resetAfterMs: 3_600_000 },
    });
    for (let shardId = 0; shardId < 16; shardId++) void ask(shardId);
    await advance(20_000, 250);
    expect(grants).toHaveLength(16);
    expect(grants.map((g) => g.shardId)).toEqual([...Array(16).keys()]);
    expect(grants.map((g) => g.at)).toEqual([
      0, 0, 0, 0, 5000, 5000, 5000, 5000, 10_000, 10_000, 10_000, 10_000, 15_000, 15_000, 15_000, 15_000,
    ]);
    expectPaced(grants, 4, 5000);
    expect(queue.status()).toMatchObject({ budgetLeft: 984, granted: 16, waiting: [] });
    queue.close();
  });

  it('serves the longest waiter of a bucket first, so a stream of newcomers never starves anyone', async () => {
    const { queue, grants, ask, advance } = rig({ maxConcurrency: 2, windowMs: 100, budget: { remaining: 1000, resetAfterMs: 3_600_000 } });
    // Bucket 0 is busy with shard 0; shard 2 asks next, then a newcomer arrives in bucket 0 every 30 ms.
    void ask(0);
    await advance(10, 10);
    void ask(2);
    const newcomers: number[] = [];
    for (let round = 0; round < 20; round++) {
      const shardId = 4 + round * 2;
      newcomers.push(shardId);
      void ask(shardId);
      await advance(30, 10);
    }
    await advance(3000, 10);
    const order = grants.map((g) => g.shardId);
    expect(order).toEqual([0, 2, ...newcomers]);
    expect(grants.find((g) => g.shardId === 2)!.at).toBe(100);
    expectPaced(grants, 2, 100);
    queue.close();
  });

  it('never exceeds the budget: reports the wait with the time until reset, then refills to total', async () => {
    const { queue, grants, notices, ask, advance } = rig({
      maxConcurrency: 16,
      windowMs: 100,
      budget: { remaining: 3, total: 5, resetAfterMs: 10_000, resetIntervalMs: 60_000 },
    });
    await advance(1000, 1000);
    for (let shardId = 0; shardId < 12; shardId++) void ask(shardId);
    await advance(1000, 100);
    expect(grants.map((g) => g.shardId)).toEqual([0, 1, 2]);
    // Every shard still waiting heard why, and for how long (9 s were left when they asked).
    expect(notices.map((n) => n.shardId).sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const { notice } of notices) expect(notice).toEqual({ code: 'IDENTIFY_BUDGET_EXHAUSTED', retryAfterMs: 9000 });
    // A newcomer while spent hears the time left then.
    void ask(12);
    await settle();
    expect(notices.at(-1)).toEqual({ shardId: 12, notice: { code: 'IDENTIFY_BUDGET_EXHAUSTED', retryAfterMs: 8000 }, at: 2000 });
    expect(queue.status()).toMatchObject({ state: 'exhausted', budgetLeft: 0, resetInMs: 8000 });

    await advance(8000, 100);
    // At the reset (10 s) the budget refilled to 5: five more, the rest wait for the next reset.
    expect(grants.map((g) => g.shardId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(grants.slice(3).every((g) => g.at === 10_000)).toBe(true);
    expect(notices.filter((n) => n.at === 10_000).map((n) => n.notice)).toEqual(
      [8, 9, 10, 11, 12].map(() => ({ code: 'IDENTIFY_BUDGET_EXHAUSTED', retryAfterMs: 60_000 })),
    );
    await advance(60_000, 1000);
    expect(grants.map((g) => g.shardId)).toEqual([...Array(13).keys()]);
    expect(grants.slice(8).every((g) => g.at === 70_000)).toBe(true);
    queue.close();
  });

  it('an aborted wait rejects with an AbortError, keeps no place and spends nothing', async () => {
    const { queue, grants, ask, advance, outcomes } = rig({
      maxConcurrency: 1,
      windowMs: 100,
      budget: { remaining: 2, resetAfterMs: 3_600_000 },
    });
    void ask(0);
    const abort = new AbortController();
    void ask(1, abort.signal);
    void ask(2);
    await advance(50, 10);
    abort.abort();
    await expect(outcomes.get(1)).rejects.toMatchObject({ name: 'AbortError' });
    await advance(500, 10);
    // The aborted shard's turn and its budget went to the next in line.
    expect(grants.map((g) => [g.shardId, g.at])).toEqual([
      [0, 0],
      [2, 100],
    ]);
    expect(queue.status()).toMatchObject({ budgetLeft: 0, waiting: [] });

    const already = AbortSignal.abort();
    await expect(queue.wait(5, already)).rejects.toMatchObject({ name: 'AbortError' });
    // An abort after the grant changes nothing.
    const late = new AbortController();
    const { queue: other } = rig({ maxConcurrency: 1, windowMs: 100, budget: { remaining: 2, resetAfterMs: 1000 } });
    await other.wait(0, late.signal);
    late.abort();
    expect(other.status().budgetLeft).toBe(1);
    queue.close();
    other.close();
  });

  it('close rejects every pending wait and every later one; nothing is left running', async () => {
    const { queue, ask, advance, outcomes } = rig({ maxConcurrency: 1, windowMs: 100, budget: { remaining: 5, resetAfterMs: 1000 } });
    void ask(0);
    void ask(1);
    void ask(2);
    await advance(10, 10);
    queue.close();
    await expect(outcomes.get(1)).rejects.toBeInstanceOf(IdentifyQueueClosedError);
    await expect(outcomes.get(2)).rejects.toMatchObject({ code: 'IDENTIFY_QUEUE_CLOSED' });
    await expect(queue.wait(3)).rejects.toBeInstanceOf(IdentifyQueueClosedError);
    expect(queue.actor.getSnapshot().status).toBe('done');
  });

  it('a reporter that throws does not disturb the queue', async () => {
    const { queue, clock } = rig({ maxConcurrency: 1, windowMs: 100, budget: { remaining: 0, resetAfterMs: 500 } });
    const waiting = queue.wait(0, undefined, () => {
      throw new Error('listener bug');
    });
    clock.increment(500);
    await expect(waiting).resolves.toBeUndefined();
    queue.close();
  });

  it('refuses bad options and shard ids with a TypeError naming them', async () => {
    const budget = { remaining: 10, resetAfterMs: 1000 };
    expect(() => memoryIdentifyQueue({ maxConcurrency: 0, budget })).toThrow(/maxConcurrency/);
    expect(() => memoryIdentifyQueue({ maxConcurrency: 1, windowMs: -1, budget })).toThrow(/windowMs/);
    expect(() => memoryIdentifyQueue({ maxConcurrency: 1, budget: { remaining: -1, resetAfterMs: 0 } })).toThrow(/budget.remaining/);
    expect(() => memoryIdentifyQueue({ maxConcurrency: 1, budget: { remaining: 1, resetAfterMs: Number.NaN } })).toThrow(
      /budget.resetAfterMs/,
    );
    expect(() => memoryIdentifyQueue({ maxConcurrency: 1, budget: { remaining: 1, resetAfterMs: 0, total: 0 } })).toThrow(/budget.total/);
    expect(() => memoryIdentifyQueue({ maxConcurrency: 1 } as MemoryIdentifyQueueOptions)).toThrow(/budget/);
    const queue = memoryIdentifyQueue({ maxConcurrency: 1, budget, clock: new SimulatedClock() });
    await expect(queue.wait(-1)).rejects.toThrow(/shardId/);
    await expect(queue.wait(1.5)).rejects.toThrow(TypeError);
    queue.close();
  });
});

describe('identifyQueueMachine spawned inside another statechart', () => {
  it('serves waits through identifyQueueOverActor on the child, and shows its budget and waiters in the snapshot', async () => {
    const clock = new SimulatedClock();
    const parent = setup({ actors: { identifyQueue: identifyQueueMachine } }).createMachine({
      id: 'fleet',
      invoke: {
        id: 'identifyQueue',
        src: 'identifyQueue',
        input: identifyQueueInput({ maxConcurrency: 1, windowMs: 1000, budget: { remaining: 5, resetAfterMs: 60_000 } }, clock.now()),
        onError: '.failed',
      },
      initial: 'running',
      states: { running: {}, failed: {} },
    });
    const fleet = createActor(parent, { clock }).start();
    const child = fleet.getSnapshot().children.identifyQueue as ActorRefFrom<typeof identifyQueueMachine>;
    const queue = identifyQueueOverActor(child, clock);
    await queue.wait(0);
    const second = queue.wait(1);
    const status = identifyQueueStatus(child.getSnapshot());
    expect(status).toMatchObject({ state: 'serving', budgetLeft: 4, coolingBuckets: [0], granted: 1 });
    expect(status.waiting.map((w) => w.shardId)).toEqual([1]);
    clock.increment(1000);
    await second;
    expect(identifyQueueStatus(child.getSnapshot()).budgetLeft).toBe(3);
    void queue.close();
    fleet.stop();
  });
});

describe('memoryIdentifyQueue: durations, clocks and user code', () => {
  const longestTimerMs = 2 ** 31 - 1;

  it('refuses a duration past the longest timer rather than firing it at once, and honours one that fits', async () => {
    for (const [budget, windowMs, name] of [
      [{ remaining: 0, total: 1, resetAfterMs: 86_400_000_000 }, undefined, /budget\.resetAfterMs must be at most 2147483647 ms/],
      [{ remaining: 0, total: 1, resetAfterMs: 0, resetIntervalMs: 2 ** 31 }, undefined, /budget\.resetIntervalMs must be at most/],
      [{ remaining: 1, resetAfterMs: 0 }, 2 ** 31, /windowMs must be at most/],
    ] as const) {
      expect(() => publicApi.memoryIdentifyQueue({ maxConcurrency: 1, windowMs, budget })).toThrow(TypeError);
      expect(() => publicApi.memoryIdentifyQueue({ maxConcurrency: 1, windowMs, budget })).toThrow(name);
    }
    vi.useFakeTimers();
    try {
      const queue = publicApi.memoryIdentifyQueue({ maxConcurrency: 1, budget: { remaining: 0, total: 1, resetAfterMs: longestTimerMs } });
      let granted = false;
      void queue.wait(0).then(() => (granted = true));
      await vi.advanceTimersByTimeAsync(longestTimerMs - 1);
      expect(granted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(granted).toBe(true);
      queue.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a forward step of the wall clock neither shortens a budget period nor the time it reports', async () => {
    vi.useFakeTimers();
    try {
      const queue = publicApi.memoryIdentifyQueue({
        maxConcurrency: 1,
        windowMs: 10,
        budget: { remaining: 1, total: 1, resetAfterMs: 1000, resetIntervalMs: 10_000 },
      });
      const grantedAt = new Map<number, number>();
      const notices: [number, IdentifyNotice][] = [];
      const started = performance.now();
      const ask = (shardId: number) =>
        void queue
          .wait(shardId, undefined, (notice) => notices.push([shardId, notice]))
          .then(() => grantedAt.set(shardId, performance.now() - started));
      ask(0);
      await vi.advanceTimersByTimeAsync(500);
      // NTP or a resumed VM moves the wall clock 5 s on; the monotonic clock does not jump.
      vi.setSystemTime(Date.now() + 5000);
      ask(1);
      await vi.advanceTimersByTimeAsync(500);
      ask(2);
      await vi.advanceTimersByTimeAsync(9_999);
      expect(grantedAt.has(2)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect([...grantedAt]).toEqual([
        [0, 0],
        [1, 1000],
        [2, 11_000],
      ]);
      expect(notices).toEqual([
        [1, { code: 'IDENTIFY_BUDGET_EXHAUSTED', retryAfterMs: 500 }],
        [2, { code: 'IDENTIFY_BUDGET_EXHAUSTED', retryAfterMs: 10_000 }],
      ]);
      queue.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a throwing inspect observer never reaches the queue: it is reported once as a warning', async () => {
    const emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      let seen = 0;
      const queue = publicApi.memoryIdentifyQueue({
        maxConcurrency: 1,
        windowMs: 10,
        budget: { remaining: 5, resetAfterMs: 60_000 },
        inspect: () => {
          seen += 1;
          throw new Error('observer bug');
        },
      });
      await queue.wait(0);
      await queue.wait(1);
      expect(queue.status()).toMatchObject({ granted: 2, budgetLeft: 3 });
      queue.close();
      expect(queue.actor.getSnapshot().status).toBe('done');
      expect(seen).toBeGreaterThan(3);
      expect(emitWarning.mock.calls).toEqual([[expect.stringContaining('observer bug'), { code: 'INSPECTOR_THREW' }]]);
    } finally {
      emitWarning.mockRestore();
    }
  });

  it('refuses a budget period of 0, a budget above its total and misspelt keys, naming them', () => {
    const budget = { remaining: 1, resetAfterMs: 0 };
    for (const [options, message] of [
      [{ maxConcurrency: 1, budget: { ...budget, resetIntervalMs: 0 } }, /budget\.resetIntervalMs must be a finite number ≥ 1/],
      [
        { maxConcurrency: 1, budget: { remaining: 5, total: 3, resetAfterMs: 0 } },
        /budget\.remaining \(5\) must not exceed budget\.total \(3\)/,
      ],
      [{ maxConcurrency: 1, windowMS: 5000, budget }, /unknown option "windowMS"/],
      [{ maxConcurrency: 1, budget: { ...budget, resetAfter: 5 } }, /unknown budget option "resetAfter"/],
      [{ maxConcurrency: 1, budget, clock: {} }, /clock must have now\(\)/],
      [{ maxConcurrency: 1, budget, inspect: 5 }, /inspect must be/],
    ] as const) {
      expect(() => publicApi.memoryIdentifyQueue(options as never)).toThrow(TypeError);
      expect(() => publicApi.memoryIdentifyQueue(options as never)).toThrow(message);
    }
  });
});

describe('memoryIdentifyQueue reservations (a turn taken before the socket opens)', () => {
  const windowMs = 1_000;
  const holdMs = 3_000;

  function reservations() {
    const base = rig({ maxConcurrency: 1, windowMs, budget: { remaining: 2, total: 2, resetAfterMs: 60_000 } });
    const granted: { shardId: number; at: number }[] = [];
    const reserve = (shardId: number) => {
      const turn = base.queue.reserve!(shardId, { holdMs });
      void turn.then(() => granted.push({ shardId, at: base.clock.now() }));
      return turn;
    };
    return { ...base, granted, reserve };
  }

  it("measures the bucket's window from the IDENTIFY, not from the grant", async () => {
    const { clock, advance, granted, reserve } = reservations();
    const first = await reserve(0);
    void reserve(1);
    // The socket takes 2.5 s to open: a window from the grant would have let shard 1 in already.
    await advance(2_500);
    expect(granted.map((g) => g.shardId)).toEqual([0]);
    first.sent();
    await advance(windowMs - 10);
    expect(granted.map((g) => g.shardId)).toEqual([0]);
    await advance(10);
    expect(granted).toEqual([
      { shardId: 0, at: 0 },
      { shardId: 1, at: 2_500 + windowMs },
    ]);
    expect(clock.now()).toBe(2_500 + windowMs);
  });

  it('a reservation given back reopens its bucket at once and refunds the budget', async () => {
    const { queue, advance, granted, reserve } = reservations();
    const first = await reserve(0);
    void reserve(1);
    await advance(200);
    first.release();
    await advance(1);
    expect(granted.map((g) => g.shardId)).toEqual([0, 1]);
    expect(granted[1]!.at).toBe(200);
    // Budget 2: one given back, one spent.
    expect(queue.status().budgetLeft).toBe(1);
  });

  it('a reservation that says neither holds its bucket for the hold and a window, then lets the next in', async () => {
    const { advance, granted, reserve } = reservations();
    await reserve(0);
    void reserve(1);
    await advance(holdMs + windowMs - 10);
    expect(granted).toHaveLength(1);
    await advance(10);
    expect(granted[1]).toEqual({ shardId: 1, at: holdMs + windowMs });
  });

  it('says sent or release once: a second word, or a word after the other, changes nothing', async () => {
    const { queue, advance, granted, reserve } = reservations();
    const first = await reserve(0);
    first.sent();
    first.release();
    first.sent();
    void reserve(1);
    await advance(windowMs - 10);
    expect(granted).toHaveLength(1);
    expect(queue.status().budgetLeft).toBe(1);
    await advance(10);
    expect(granted).toHaveLength(2);
  });

  it('refuses a hold that is not a duration', async () => {
    const { queue } = reservations();
    await expect(queue.reserve!(0, { holdMs: 0 })).rejects.toThrow(/holdMs/);
    await expect(queue.reserve!(0, { holdMs: Number.NaN })).rejects.toThrow(/holdMs/);
  });
});

describe('memoryIdentifyQueue: a budget reset known only to within the time GET /gateway/bot took', () => {
  // Read 300 ms before the queue was made: Discord's first reset comes 700 to 1,000 ms from now.
  const budget = { remaining: 2, total: 2, resetAfterMs: 1_000, resetIntervalMs: 10_000, readLatencyMs: 300 };

  it('grants nothing from the earliest moment the reset may come until the latest, then refills to total', async () => {
    const { queue, grants, ask, advance } = rig({ maxConcurrency: 1, windowMs: 100, budget });
    void ask(0);
    await advance(750, 50);
    // One IDENTIFY is left in the old period, but Discord may have reset already: one granted now
    // would count in the queue's old period and in Discord's new one, which would then get three.
    void ask(1);
    await advance(200, 50);
    expect(grants).toEqual([{ shardId: 0, at: 0 }]);
    expect(queue.status()).toMatchObject({ state: 'resetting', budgetLeft: 1, resetInMs: 50, waiting: [{ shardId: 1 }] });
    await advance(50, 50);
    void ask(2);
    void ask(3);
    // The new period's two; the next period may begin at 10,700 and surely has at 11,000.
    await advance(9_900, 100);
    expect(grants).toEqual([
      { shardId: 0, at: 0 },
      { shardId: 1, at: 1_000 },
      { shardId: 2, at: 1_100 },
    ]);
    await advance(100, 100);
    expect(grants.at(-1)).toEqual({ shardId: 3, at: 11_000 });
    queue.close();
  });

  it('a reservation whose IDENTIFY goes out after the reset is paid from the new period too', async () => {
    // The reset time is known exactly here; the IDENTIFY is what straddles it.
    const { queue, grants, ask, advance } = rig({
      maxConcurrency: 2,
      windowMs: 100,
      budget: { remaining: 2, total: 2, resetAfterMs: 1_000, resetIntervalMs: 10_000 },
    });
    await advance(900, 100);
    const turn = await queue.reserve!(0, { holdMs: 3_000 });
    // The socket opens slowly: the IDENTIFY goes out after the reset, and Discord's new period counts it.
    await advance(200, 100);
    turn.sent();
    void ask(1);
    void ask(3);
    await advance(1_000, 100);
    expect(grants).toEqual([{ shardId: 1, at: 1_100 }]);
    expect(queue.status()).toMatchObject({ state: 'exhausted', budgetLeft: 0, waiting: [{ shardId: 3 }] });
    queue.close();
  });

  it('a reservation caught across the reset and given back is refunded to the period that would have counted it', async () => {
    const { queue, advance } = rig({ maxConcurrency: 2, windowMs: 100, budget });
    await advance(650, 50);
    const first = await queue.reserve!(0, { holdMs: 3_000 });
    const second = await queue.reserve!(1, { holdMs: 3_000 });
    await advance(150, 50);
    // Both were held when the old period may have ended: each is owed by the new one as well.
    first.release();
    await advance(200, 50);
    expect(queue.status()).toMatchObject({ state: 'serving', budgetLeft: 1 });
    second.release();
    expect(queue.status().budgetLeft).toBe(2);
    queue.close();
  });

  it('a timer that fires late lets nothing into the gap: a wait is not granted, a reservation sent then is paid from the next period', async () => {
    const simulated = new SimulatedClock();
    let lateBy = 0;
    // A busy event loop: the queue's timers run `lateBy` after their time, while now() tells the true time.
    const clock: QueueClock = {
      now: () => simulated.now() + lateBy,
      setTimeout: (fn, ms) => simulated.setTimeout(fn, ms),
      clearTimeout: (id) => simulated.clearTimeout(id),
    };
    const queue = publicApi.memoryIdentifyQueue({ maxConcurrency: 2, windowMs: 100, budget, clock });
    const turn = await queue.reserve!(0, { holdMs: 3_000 });
    simulated.increment(650);
    lateBy = 100;
    // 750: past the earliest reset (700), and the timer for it has not run yet.
    turn.sent();
    let grantedAt: number | undefined;
    void queue.wait(1).then(() => (grantedAt = clock.now()));
    await settle();
    expect(grantedAt).toBeUndefined();
    for (let step = 0; step < 6; step++) {
      simulated.increment(50);
      await settle();
    }
    // The refill came with the late timer; shard 0's IDENTIFY may count in the new period, so one is left for shard 1.
    expect(grantedAt).toBe(1_050);
    expect(queue.status()).toMatchObject({ state: 'exhausted', budgetLeft: 0 });
    queue.close();
  });

  it('refuses a read latency that is not a duration, or not shorter than a budget period', () => {
    for (const [readLatencyMs, message] of [
      [-1, /budget\.readLatencyMs must be a finite number ≥ 0/],
      [Number.NaN, /budget\.readLatencyMs must be a finite number/],
      [10_000, /budget\.readLatencyMs \(10000\) must be less than budget\.resetIntervalMs \(10000\)/],
    ] as const) {
      const options = { maxConcurrency: 1, budget: { ...budget, readLatencyMs } };
      expect(() => publicApi.memoryIdentifyQueue(options)).toThrow(TypeError);
      expect(() => publicApi.memoryIdentifyQueue(options)).toThrow(message);
    }
  });
});
