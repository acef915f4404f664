import { afterEach, describe, expect, it } from 'vitest';
import { memoryIdentifyQueue } from '../../src/fleet/memoryIdentifyQueue.ts';
import { memorySessionStore } from '../../src/fleet/memorySessionStore.ts';
import { closeFleets, guildOf, startFleet, startFleetServer } from './support/fleetHarness.ts';

afterEach(closeFleets);

/** The gaps between consecutive accepted IDENTIFYs of each bucket, in ms. */
function bucketGaps(identified: readonly { shard: number | null; at: number }[], maxConcurrency: number): number[] {
  const last = new Map<number, number>();
  const gaps: number[] = [];
  for (const { shard, at } of identified) {
    const bucket = (shard ?? 0) % maxConcurrency;
    const previous = last.get(bucket);
    if (previous !== undefined) gaps.push(at - previous);
    last.set(bucket, at);
  }
  return gaps;
}

describe('a fleet in one process, on real sockets', () => {
  it('64 shards, max_concurrency 4, 200 ms windows: all READY in bucket order, no rule broken, no idle window', async () => {
    const windowMs = 200;
    const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: windowMs });
    // The client spaces its IDENTIFYs twice as wide as the server's window: the server measures
    // arrivals, and on a loaded machine an IDENTIFY can be read a hundred ms after it was granted.
    const clientWindowMs = windowMs * 2;
    const h = startFleet(server, { shardCount: 64, identifyWindowMs: clientWindowMs });
    const started = Date.now();
    await h.fleet.start();
    const elapsed = Date.now() - started;

    expect(server.violations).toEqual([]);
    expect(server.identified).toHaveLength(64);
    expect(Object.values(h.fleet.shards()).every((shard) => shard.status === 'ready' && shard.handshake === 'identify')).toBe(true);
    // Each bucket starts its shards lowest first.
    for (let bucket = 0; bucket < 4; bucket++) {
      const order = server.identified.map((entry) => entry.shard!).filter((shard) => shard % 4 === bucket);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // Paced by the window, not slower: no bucket sat idle for a whole extra window.
    const gaps = bucketGaps(server.identified, 4);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(windowMs);
    expect(Math.max(...gaps)).toBeLessThan(2 * clientWindowMs);
    // 16 starts per bucket need at least 15 windows.
    expect(elapsed).toBeGreaterThanOrEqual(15 * windowMs);
  }, 30_000);

  it('routes each guild to its shard; shardFor agrees with the server', async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    const h = startFleet(server, { shardCount: 4, identifyWindowMs: 120 });
    await h.fleet.start();
    for (let shardId = 0; shardId < 4; shardId++) {
      const guild = guildOf(shardId, 4);
      expect(h.fleet.shardFor(guild)).toBe(shardId);
      server.dispatch('MESSAGE_CREATE', { guild_id: guild });
    }
    server.dispatch('MESSAGE_CREATE', { content: 'a DM' });
    await h.waitFor(() => h.dispatches.length === 5, 'five events');
    expect(h.dispatches.map((entry) => entry.shardId).sort()).toEqual([0, 0, 1, 2, 3]);
    for (const { shardId, payload } of h.dispatches) {
      const guild = (payload.d as { guild_id?: string }).guild_id;
      if (guild) expect(h.fleet.shardFor(guild)).toBe(shardId);
    }
  });

  it('every socket killed at once: every shard RESUMEs, no IDENTIFY, no event lost or repeated', async () => {
    const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 20 });
    const h = startFleet(server, { shardCount: 16, identifyWindowMs: 120 });
    await h.fleet.start();
    const identifies = server.counters.identifies;
    server.startStream(400);
    await h.waitFor(() => h.dispatches.length >= 50, 'events flowing');

    const resumed = new Set<number>();
    h.fleet.on('state', (change, shardId) => {
      if (change.state === 'ready' && change.handshake === 'resume') resumed.add(shardId);
    });
    server.kill();
    await h.waitFor(() => resumed.size === 16, 'all 16 shards to resume');
    await h.waitFor(() => h.dispatches.length >= 300, 'more events after the resume');
    server.stopStream();
    expect(server.counters.identifies).toBe(identifies);

    // Every event the server sent to shard 0's session (the stream has no guild) arrives once, in order.
    const stats = server.sessionStats(h.fleet.session(0)!.sessionId)!;
    const delivered = () => h.dispatches.filter(({ shardId }) => shardId === 0).map(({ payload }) => payload.s);
    await h.waitFor(() => delivered().length >= stats.dispatched, 'the events still in flight');
    expect(delivered()).toEqual([...new Set(delivered())].sort((a, b) => a - b));
    expect(delivered()).toHaveLength(stats.dispatched);
    expect(h.dispatches.every(({ shardId }) => shardId === 0)).toBe(true);
  });

  it('a budget of 20 for 64 shards: never more than 20 IDENTIFYs, the wait is reported, the rest start after the reset', async () => {
    const server = await startFleetServer({
      maxConcurrency: 16,
      identifyWindowMs: 10,
      budget: { remaining: 20, total: 64, resetAfterMs: 1_000 },
    });
    const queue = memoryIdentifyQueue({ maxConcurrency: 16, windowMs: 120, budget: { remaining: 20, total: 64, resetAfterMs: 1_100 } });
    const h = startFleet(server, { shardCount: 64, identifyQueue: queue });
    const start = h.fleet.start();
    // The wait is reported as soon as a shard asks past the budget, maybe before the 20th IDENTIFY
    // has reached the server; the reset is most of a second away.
    await h.waitFor(
      () =>
        h.errors.some(({ error }) => (error as { code?: string }).code === 'IDENTIFY_BUDGET_EXHAUSTED') && server.identified.length >= 20,
      'the wait to be reported and the budget spent',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.identified.length).toBe(20);
    await start;
    queue.close();
    expect(server.violations).toEqual([]);
    expect(server.identified).toHaveLength(64);
    const exhausted = h.errors.find(({ error }) => (error as { code?: string }).code === 'IDENTIFY_BUDGET_EXHAUSTED')!;
    expect((exhausted.error as { retryInMs?: number }).retryInMs).toBeGreaterThan(0);
  }, 20_000);

  it('a crash loop (every new session closed at once with 4009) spends at most the budget', async () => {
    const server = await startFleetServer({
      maxConcurrency: 4,
      identifyWindowMs: 10,
      budget: { remaining: 30, total: 30, resetAfterMs: 60_000 },
    });
    const queue = memoryIdentifyQueue({ maxConcurrency: 4, windowMs: 120, budget: { remaining: 30, total: 30, resetAfterMs: 60_000 } });
    const h = startFleet(server, { shardCount: 8, identifyQueue: queue });
    h.fleet.on('state', (change) => {
      if (change.state === 'ready') server.closeWith(4009, 'Session timed out.');
    });
    void h.fleet.start().catch(() => {});
    await h.waitFor(
      () => h.errors.some(({ error }) => (error as { code?: string }).code === 'IDENTIFY_BUDGET_EXHAUSTED'),
      'the budget to run out',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.counters.identifies).toBeLessThanOrEqual(30);
    expect(server.violations).toEqual([]);
    await h.fleet.stop();
    queue.close();
  }, 20_000);

  it('stop({ keepSessions }) then a new manager on the same store: every shard RESUMEs, no IDENTIFY, every event once', async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    const store = memorySessionStore();
    const first = startFleet(server, { shardCount: 6, identifyWindowMs: 120, sessionStore: store });
    await first.fleet.start();
    for (let shardId = 0; shardId < 6; shardId++) server.dispatch('MESSAGE_CREATE', { guild_id: guildOf(shardId, 6) });
    await first.waitFor(() => first.dispatches.length === 6, 'six events');
    await first.fleet.stop({ keepSessions: true });
    for (let shardId = 0; shardId < 6; shardId++) expect(await store.get(shardId)).toMatchObject({ shardCount: 6 });
    // Events sent while no process runs the fleet wait in the sessions.
    for (let shardId = 0; shardId < 6; shardId++) server.dispatch('MESSAGE_CREATE', { guild_id: guildOf(shardId, 6, 2) });

    const identifies = server.counters.identifies;
    const second = startFleet(server, { shardCount: 6, identifyWindowMs: 120, sessionStore: store });
    await second.fleet.start();
    expect(server.counters.identifies).toBe(identifies);
    expect(Object.values(second.fleet.shards()).every((shard) => shard.handshake === 'resume')).toBe(true);
    await second.waitFor(() => second.dispatches.length === 6, 'the six events sent in between');
    const all = [...first.dispatches, ...second.dispatches].map(({ shardId, payload }) => `${shardId}:${payload.s}`);
    expect(new Set(all).size).toBe(12);
  });

  it('a plain stop forgets the stored sessions', async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    const store = memorySessionStore();
    const h = startFleet(server, { shardCount: 2, identifyWindowMs: 120, sessionStore: store });
    await h.fleet.start();
    expect(await store.get(0)).not.toBeNull();
    await h.fleet.stop();
    expect(await store.get(0)).toBeNull();
    expect(await store.get(1)).toBeNull();
  });

  it('runs only its shardIds, and refuses to send on a shard it does not run', async () => {
    const server = await startFleetServer({ maxConcurrency: 1, identifyWindowMs: 20 });
    const h = startFleet(server, { shardCount: 4, shardIds: [1, 3], identifyWindowMs: 120 });
    await h.fleet.start();
    expect(Object.keys(h.fleet.shards())).toEqual(['1', '3']);
    expect(server.identified.map((entry) => entry.shard)).toEqual([1, 3]);
    await expect(h.fleet.send(0, { op: 3, d: {} })).rejects.toMatchObject({ code: 'UNKNOWN_SHARD' });
    await expect(h.fleet.send(1, { op: 3, d: { status: 'online', since: null, activities: [], afk: false } })).resolves.toBeUndefined();
  });
});
