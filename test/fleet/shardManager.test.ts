import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createShardManager,
  fetchGatewayBot,
  memoryIdentifyQueue,
  memorySessionStore,
  type ShardManager,
  type ShardManagerOptions,
} from '../../src/index.ts';
import type { ChaosGateway } from '../../src/testing/index.ts';
import { shortTimeouts } from '../support/realGateway.ts';
import { closeFleets, fleetToken, gatewayInfoOf, guildOf, startFleet, startFleetServer } from './support/fleetHarness.ts';

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

describe("the fleet's lifecycle, through the public API", () => {
  const running: ShardManager[] = [];
  afterEach(async () => {
    for (const fleet of running.splice(0)) await fleet.stop();
  });

  /** A manager on the chaos gateway, built with the package's own createShardManager. */
  function fleetOn(server: ChaosGateway, options: Partial<ShardManagerOptions> & { shardCount: number }) {
    const fleet = createShardManager({
      token: fleetToken,
      intents: 513,
      url: server.url,
      gatewayInfo: gatewayInfoOf(server, options.shardCount),
      identifyWindowMs: 120,
      timeouts: { ...shortTimeouts, hello: 1_000, ready: 1_000 },
      backoff: { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 },
      ...options,
    });
    running.push(fleet);
    const errors: { code: string | undefined; shardId: number | null; message: string }[] = [];
    fleet.on('error', (error, shardId) => errors.push({ code: (error as { code?: string }).code, shardId, message: error.message }));
    return { fleet, errors };
  }

  const macrotask = () => new Promise((resolve) => setImmediate(resolve));
  async function until(predicate: () => boolean, what: string, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it("a shard whose stored session is refused IDENTIFYs in its place in its bucket's order", async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    const store = memorySessionStore();
    // Sessions the server never heard of: each RESUME is answered with op 9 d=false, then IDENTIFY.
    for (const shardId of [0, 2, 5])
      await store.set(shardId, { sessionId: `gone-${shardId}`, sequence: 7, resumeUrl: null, shardCount: 8 });
    const { fleet } = fleetOn(server, { shardCount: 8, sessionStore: store });
    await fleet.start();

    expect(server.counters.resumes).toBe(3);
    expect(server.violations).toEqual([]);
    for (const bucket of [0, 1]) {
      expect(server.identified.map((entry) => entry.shard!).filter((shard) => shard % 2 === bucket)).toEqual(
        bucket === 0 ? [0, 2, 4, 6] : [1, 3, 5, 7],
      );
    }
  });

  it('an authentication failure (4004) stops every identify of the fleet, and the fleet fails with it', async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    // A window far longer than the refusal takes to arrive: no second turn of a bucket can come first.
    const queue = memoryIdentifyQueue({ maxConcurrency: 2, windowMs: 2_000, budget: { remaining: 100, resetAfterMs: 60_000 } });
    const { fleet } = fleetOn(server, { shardCount: 8, token: 'a-token-discord-refuses', identifyQueue: queue });
    const start = fleet.start();

    await expect(start).rejects.toMatchObject({ code: 'AUTH_FAILED', closeCode: 4004 });
    await expect(fleet.stop()).resolves.toEqual({ status: 'failed', reason: expect.stringContaining('4004'), closeCode: 4004 });
    // One IDENTIFY per bucket went out before the first refusal; nobody asked the queue after it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.counters.identifies).toBeLessThanOrEqual(2);
    expect(queue.status()).toMatchObject({ granted: server.counters.identifies, waiting: [] });
    expect(server.counters.open).toBe(0);
    queue.close();
  });

  it('an observer that throws is reported, and never reaches the statechart: create, start and stop work', async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { fleet, errors } = fleetOn(server, {
        shardCount: 2,
        inspect: () => {
          throw new Error('observer bug');
        },
      });
      await fleet.start();
      await expect(fleet.stop()).resolves.toEqual({ status: 'stopped' });
      expect(errors.some((error) => error.code === 'INSPECTOR_THREW' && error.shardId === null)).toBe(true);
      await until(() => server.counters.open === 0, 'every socket closed');
      await macrotask();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('spawns and stops a large fleet in batches, letting the event loop run in between', async () => {
    const server = await startFleetServer({ maxConcurrency: 1, identifyWindowMs: 20 });
    const shardCount = 600;
    const { fleet } = fleetOn(server, { shardCount });
    let made = 0;
    let stopped = 0;
    fleet.on('shard', (gateway) => {
      if (gateway) made++;
    });
    fleet.on('state', (change) => {
      if (change.state === 'stopped') stopped++;
    });
    // What a timer of a running shard would see: how far the fleet had got each time it ran.
    const seen = { made: new Set<number>(), stopped: new Set<number>() };
    let probing = true;
    const probe = () => {
      seen.made.add(made);
      seen.stopped.add(stopped);
      if (probing) setImmediate(probe);
    };
    probe();
    void fleet.start().catch(() => {});
    await until(() => made === shardCount, 'every shard made');
    await fleet.stop();
    probing = false;
    expect(stopped).toBe(shardCount);
    expect([...seen.made].filter((count) => count > 0 && count < shardCount).length).toBeGreaterThan(1);
    expect([...seen.stopped].filter((count) => count > 0 && count < shardCount).length).toBeGreaterThan(1);
  });

  it('stop() while GET /gateway/bot is in flight aborts the request, and no error comes after stop() resolved', async () => {
    const requests: { closed: boolean }[] = [];
    const api = http.createServer((request) => {
      // Never answers: only an abort ends the request.
      const entry = { closed: false };
      requests.push(entry);
      request.socket.on('close', () => (entry.closed = true));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api/v10`;
    try {
      const errors: Error[] = [];
      const fleet = createShardManager({
        token: fleetToken,
        intents: 513,
        shardCount: 'auto',
        gatewayInfo: (signal) => fetchGatewayBot({ token: fleetToken, baseUrl, ...(signal ? { signal } : {}) }),
      });
      fleet.on('error', (error) => errors.push(error));
      const start = fleet.start();
      await until(() => requests.length === 1, 'the request');
      await expect(fleet.stop()).resolves.toEqual({ status: 'stopped' });
      await expect(start).rejects.toMatchObject({ code: 'STOPPED' });
      await until(() => requests[0]!.closed, 'the request to be aborted', 2_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(errors).toEqual([]);
    } finally {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    }
  });

  it('a layout answer that comes after stop() is not reported', async () => {
    const errors: Error[] = [];
    let fail: (error: Error) => void = () => {};
    const fleet = createShardManager({
      token: fleetToken,
      intents: 513,
      shardCount: 'auto',
      gatewayInfo: () => new Promise((_, reject) => (fail = reject)),
    });
    fleet.on('error', (error) => errors.push(error));
    void fleet.start().catch(() => {});
    await macrotask();
    await fleet.stop();
    fail(new Error('GET /gateway/bot: HTTP 503'));
    await macrotask();
    expect(errors).toEqual([]);
  });

  it('send and reconnect say NOT_STARTED before start() and STOPPED after stop(); UNKNOWN_SHARD for a shard it does not run', async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    const { fleet } = fleetOn(server, { shardCount: 2 });
    const presence = { op: 3, d: { status: 'online', since: null, activities: [], afk: false } };
    await expect(fleet.send(0, presence)).rejects.toMatchObject({ code: 'NOT_STARTED' });
    await expect(fleet.reconnect(1)).rejects.toMatchObject({ code: 'NOT_STARTED' });
    await expect(fleet.send(2, presence)).rejects.toMatchObject({ code: 'UNKNOWN_SHARD' });
    await fleet.start();
    await expect(fleet.send(0, presence)).resolves.toBeUndefined();
    await fleet.stop();
    await expect(fleet.send(0, presence)).rejects.toMatchObject({ code: 'STOPPED' });
    await expect(fleet.reconnect(1, { fresh: true })).rejects.toMatchObject({ code: 'STOPPED' });
    await expect(fleet.send(2, presence)).rejects.toMatchObject({ code: 'UNKNOWN_SHARD' });
  });
});
