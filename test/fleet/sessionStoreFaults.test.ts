import { afterEach, describe, expect, it } from 'vitest';
import { createShardManager, memorySessionStore, type SessionStore, type StoredSession } from '../../src/index.ts';
import {
  closeFleets,
  fleetToken,
  gatewayInfoOf,
  guildOf,
  startFleet,
  startFleetServer,
  type FleetHarness,
} from './support/fleetHarness.ts';
import { shortTimeouts } from '../support/realGateway.ts';

/**
 * A session store is user code: what it returns is untrusted data, and it may fail or never
 * answer. Whatever one shard's entry or call does, that shard alone pays (one IDENTIFY and a
 * report), and the fleet starts, runs and stops.
 */

afterEach(closeFleets);

const storeErrors = (h: FleetHarness) =>
  h.errors
    .filter(({ error }) => (error as { code?: string }).code === 'SESSION_STORE_FAILED')
    .map(({ shardId, error }) => ({ shardId, message: error.message }));

/** Which handshake each shard became ready with, from the fleet's own state events. */
function handshakesOf(h: FleetHarness): Map<number, string> {
  const handshakes = new Map<number, string>();
  h.fleet.on('state', (change, shardId) => {
    if (change.state === 'ready' && change.handshake) handshakes.set(shardId, change.handshake);
  });
  return handshakes;
}

/** Resolves with the outcome of `promise`, or 'still pending' after `ms`: a hang fails the test instead of timing it out. */
function outcomeWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    promise.then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still pending'), ms)),
  ]);
}

describe('a fleet on a session store that misbehaves', () => {
  it('malformed entries (sequence -5, fields missing, wrong types, a throwing getter): those shards report and IDENTIFY, the others RESUME and keep their sessions', async () => {
    const server = await startFleetServer({ maxConcurrency: 6, identifyWindowMs: 20 });
    const kept = memorySessionStore();
    const first = startFleet(server, { shardCount: 6, identifyWindowMs: 60, sessionStore: kept });
    await first.fleet.start();
    await first.fleet.stop({ keepSessions: true });
    const before = await Promise.all([0, 1, 2, 3, 4, 5].map((shardId) => kept.get(shardId)));

    const malformed: Record<number, unknown> = {
      1: { ...before[1], sequence: -5 },
      2: { sessionId: before[2]!.sessionId },
      3: { ...before[3], sequence: '12', shardCount: 6 },
      4: Object.defineProperty({ ...before[4] }, 'sessionId', {
        enumerable: true,
        get() {
          throw new Error('a getter that throws');
        },
      }),
    };
    const custom: SessionStore = {
      get: async (shardId) => (shardId in malformed ? (malformed[shardId] as StoredSession) : kept.get(shardId)),
      set: (shardId, session) => kept.set(shardId, session),
    };
    const identifies = server.counters.identifies;
    const second = startFleet(server, { shardCount: 6, identifyWindowMs: 60, sessionStore: custom });
    const handshakes = handshakesOf(second);
    expect(await outcomeWithin(second.fleet.start(), 10_000)).toBe('resolved');

    expect(
      storeErrors(second)
        .map(({ shardId }) => shardId)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    for (const { message } of storeErrors(second)) expect(message).toMatch(/malformed.*identifies/);
    expect([...handshakes].sort(([a], [b]) => a - b)).toEqual([
      [0, 'resume'],
      [1, 'identify'],
      [2, 'identify'],
      [3, 'identify'],
      [4, 'identify'],
      [5, 'resume'],
    ]);
    expect(server.counters.identifies).toBe(identifies + 4);
    // The good sessions are the same sessions, still stored.
    for (const shardId of [0, 5]) expect((await kept.get(shardId))?.sessionId).toBe(before[shardId]!.sessionId);
    await second.fleet.stop({ keepSessions: true });
    for (let shardId = 0; shardId < 6; shardId++) expect(await kept.get(shardId), `shard ${shardId}`).not.toBeNull();
  }, 30_000);

  it('a manager whose actor ends without stop() (as when it fails) keeps every stored session', async () => {
    const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 20 });
    const sessions = memorySessionStore();
    const writes: { shardId: number; session: StoredSession | null }[] = [];
    const store: SessionStore = {
      get: (shardId) => sessions.get(shardId),
      set: async (shardId, session) => {
        writes.push({ shardId, session });
        await sessions.set(shardId, session);
      },
    };
    const fleet = createShardManager({
      token: fleetToken,
      intents: 513,
      shardCount: 4,
      url: server.url,
      gatewayInfo: gatewayInfoOf(server, 4),
      sessionStore: store,
      timeouts: { ...shortTimeouts, hello: 1_000, ready: 1_000 },
    });
    const stopped = new Set<number>();
    fleet.on('state', (change, shardId) => {
      if (change.state === 'stopped') stopped.add(shardId);
    });
    await fleet.start();
    const mark = writes.length;
    fleet.actor.stop();
    const deadline = Date.now() + 5_000;
    while (writes.length < mark + 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stopped.size).toBe(4);
    expect(writes.slice(mark).map(({ shardId, session }) => [shardId, session === null])).toEqual(
      expect.arrayContaining([0, 1, 2, 3].map((shardId) => [shardId, false])),
    );
    for (let shardId = 0; shardId < 4; shardId++) expect(await sessions.get(shardId), `shard ${shardId}`).not.toBeNull();
  });

  it('a get that never answers: reported per shard after sessionStoreTimeoutMs, the shard IDENTIFYs, start() resolves, the late answer is ignored', async () => {
    const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 20 });
    const kept = memorySessionStore();
    const first = startFleet(server, { shardCount: 4, identifyWindowMs: 60, sessionStore: kept });
    await first.fleet.start();
    await first.fleet.stop({ keepSessions: true });

    const lateAnswers: (() => void)[] = [];
    const slow: SessionStore = {
      // Answers (with the real, resumable session) only when the test says so.
      get: (shardId) => new Promise((resolve) => lateAnswers.push(() => void kept.get(shardId).then(resolve))),
      set: (shardId, session) => kept.set(shardId, session),
    };
    const second = startFleet(server, { shardCount: 4, identifyWindowMs: 60, sessionStore: slow, sessionStoreTimeoutMs: 100 });
    const handshakes = handshakesOf(second);
    expect(await outcomeWithin(second.fleet.start(), 8_000)).toBe('resolved');
    expect(
      storeErrors(second)
        .map(({ shardId }) => shardId)
        .sort(),
    ).toEqual([0, 1, 2, 3]);
    for (const { message } of storeErrors(second)) expect(message).toMatch(/did not answer within 100 ms/);
    expect([...handshakes.values()]).toEqual(['identify', 'identify', 'identify', 'identify']);

    const resumes = server.counters.resumes;
    for (const answer of lateAnswers) answer();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.counters.resumes).toBe(resumes);
    expect(Object.values(second.fleet.shards()).every((shard) => shard.status === 'ready' && shard.handshake === 'identify')).toBe(true);
    expect(storeErrors(second)).toHaveLength(4);
  }, 30_000);

  it('a set that never answers: reported while the fleet runs, one pending call per shard however many events, and stop() still ends', async () => {
    const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 20 });
    let calls = 0;
    const hung: SessionStore = {
      get: async () => null,
      set: () => {
        calls += 1;
        return new Promise<void>(() => {});
      },
    };
    const h = startFleet(server, {
      shardCount: 4,
      identifyWindowMs: 60,
      sessionStore: hung,
      sessionStoreTimeoutMs: 100,
      sessionWriteIntervalMs: 20,
    });
    await h.fleet.start();
    for (let round = 1; round <= 30; round++) {
      for (let shardId = 0; shardId < 4; shardId++) server.dispatch('MESSAGE_CREATE', { guild_id: guildOf(shardId, 4, round) });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await h.waitFor(() => h.dispatches.length === 120, 'every event');
    await h.waitFor(() => new Set(storeErrors(h).map(({ shardId }) => shardId)).size === 4, 'a report from every shard');
    for (const { message } of storeErrors(h)) expect(message).toMatch(/did not answer within 100 ms/);
    expect(calls).toBe(4);

    const reports = storeErrors(h).length;
    expect(await outcomeWithin(h.fleet.stop(), 5_000)).toBe('resolved');
    expect(
      storeErrors(h)
        .slice(reports)
        .some(({ message }) => /at stop/.test(message)),
    ).toBe(true);
    expect(calls).toBe(4);
  }, 30_000);

  it('refuses a bad sessionStoreTimeoutMs, or a store ttlMs that is not a duration, with a TypeError naming it', () => {
    const base = { token: fleetToken, intents: 513, shardCount: 1, url: 'ws://127.0.0.1:1' } as const;
    expect(() => createShardManager({ ...base, sessionStoreTimeoutMs: 0 })).toThrow(/sessionStoreTimeoutMs/);
    expect(() => createShardManager({ ...base, sessionStoreTimeoutMs: 2 ** 31 })).toThrow(/sessionStoreTimeoutMs/);
    const store = Object.assign(memorySessionStore(), { ttlMs: Number.NaN });
    expect(() => createShardManager({ ...base, sessionStore: store })).toThrow(/ttlMs/);
  });
});
