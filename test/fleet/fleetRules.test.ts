import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Actor, SimulatedClock } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import * as publicApi from '../../src/index.ts';
import type { GatewayBotInfo } from '../../src/index.ts';
import { startChaosGateway } from '../../src/testing/index.ts';
import { shortTimeouts } from '../support/realGateway.ts';
import { createShardManager } from '../../src/fleet/createShardManager.ts';
import { checkGatewayBotInfo, fetchGatewayBot } from '../../src/fleet/gatewayBot.ts';
import { IdentifyRules, shardField, shardOfGuild } from '../../src/testing/identifyRules.ts';

describe("the chaos gateway's identify rules", () => {
  it('one IDENTIFY per bucket per window; other buckets are free', () => {
    const rules = new IdentifyRules({ maxConcurrency: 2, identifyWindowMs: 100 }, 0);
    expect(rules.admit([0, 4], 0)).toBeNull();
    expect(rules.admit([1, 4], 1)).toBeNull();
    expect(rules.admit([2, 4], 50)).toMatchObject({ kind: 'window', shard: 2 });
    expect(rules.admit([2, 4], 100)).toBeNull();
    expect(rules.granted.map((g) => g.shard)).toEqual([0, 1, 2]);
  });

  it("a bucket's shards start lowest first; a refused shard may try again later", () => {
    const rules = new IdentifyRules({ maxConcurrency: 2, identifyWindowMs: 10 }, 0);
    expect(rules.admit([2, 4], 0)).toBeNull();
    expect(rules.admit([0, 4], 20)).toMatchObject({ kind: 'order', shard: 0 });
    expect(rules.admit([0, 4], 40)).toBeNull();
  });

  it('the daily budget: spent, refused, refilled at the reset', () => {
    const rules = new IdentifyRules({ maxConcurrency: 4, identifyWindowMs: 1, budget: { total: 5, remaining: 2, resetAfterMs: 1_000 } }, 0);
    expect(rules.admit([0, 4], 0)).toBeNull();
    expect(rules.admit([1, 4], 0)).toBeNull();
    expect(rules.sessionStartLimit(10)).toEqual({ total: 5, remaining: 0, reset_after: 990, max_concurrency: 4 });
    expect(rules.admit([2, 4], 10)).toMatchObject({ kind: 'budget' });
    expect(rules.admit([2, 4], 1_000)).toBeNull();
    expect(rules.sessionStartLimit(1_000).remaining).toBe(4);
  });

  it('reads the shard field and routes guilds as Discord does', () => {
    expect(shardField(undefined)).toBeNull();
    expect(shardField([1, 4])).toEqual([1, 4]);
    for (const bad of [[4, 4], [-1, 4], [0, 0], ['0', 1], [0], 'x']) expect(shardField(bad)).toBe('invalid');
    // Discord's own example: guild 81384788765712384 on shard 0 of 1; the id >> 22 for 2 shards.
    expect(shardOfGuild('81384788765712384', 1)).toBe(0);
    expect(shardOfGuild('81384788765712384', 16)).toBe(Number((81384788765712384n >> 22n) % 16n));
  });
});

describe('GET /gateway/bot', () => {
  async function serve(status: number, body: unknown) {
    const seen: { url?: string; authorization?: string } = {};
    const server = createServer((request, response) => {
      seen.url = request.url;
      seen.authorization = request.headers.authorization;
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v10`;
    return { baseUrl, seen, close: () => new Promise((resolve) => server.close(resolve)) };
  }
  const info = {
    url: 'wss://gateway.discord.gg',
    shards: 3,
    session_start_limit: { total: 1000, remaining: 999, reset_after: 5, max_concurrency: 1 },
  };

  it('asks with the bot token and returns the checked answer', async () => {
    const api = await serve(200, info);
    try {
      await expect(fetchGatewayBot({ token: 'abc', baseUrl: api.baseUrl })).resolves.toEqual(info);
      expect(api.seen).toEqual({ url: '/api/v10/gateway/bot', authorization: 'Bot abc' });
    } finally {
      await api.close();
    }
  });

  it('says what went wrong: a refused token, a server error, a malformed answer', async () => {
    for (const [status, body, message] of [
      [401, { message: '401: Unauthorized' }, /token is invalid/],
      [502, {}, /HTTP 502/],
      [200, { ...info, shards: 0 }, /shards must be a whole number ≥ 1/],
    ] as const) {
      const api = await serve(status, body);
      try {
        await expect(fetchGatewayBot({ token: 'abc', baseUrl: api.baseUrl })).rejects.toThrow(message);
      } finally {
        await api.close();
      }
    }
    expect(() => checkGatewayBotInfo({ ...info, url: 'https://x' })).toThrow(/ws\(s\) URL/);
  });
});

describe('createShardManager options', () => {
  const base = { token: 't', intents: 1, shardCount: 4 as const, url: 'ws://127.0.0.1:1/' };
  it.each([
    [{ ...base, token: '' }, /token/],
    [{ ...base, intents: -1 }, /intents/],
    [{ ...base, shardCount: 0 }, /shardCount/],
    [{ ...base, shardIds: [1, 1] }, /twice/],
    [{ ...base, shardIds: [4] }, /not below shardCount 4/],
    [{ ...base, shardIds: [] }, /non-empty/],
    [{ ...base, url: 'http://x' }, /url/],
    [{ ...base, identifyQueue: {} }, /identifyQueue/],
    [{ ...base, sessionStore: { get() {} } }, /sessionStore/],
    [{ ...base, identifyWindowMs: 3e9 }, /identifyWindowMs/],
    [{ ...base, timeouts: { hello: -5 } }, /timeouts.hello/],
  ])('refuses %j at once', (options, message) => {
    expect(() => createShardManager(options as never)).toThrow(message);
  });

  it('a layout that cannot be learnt fails start() with the reason and reports it', async () => {
    const errors: [string, number | null][] = [];
    const fleet = createShardManager({ ...base, shardCount: 'auto', gatewayInfo: () => Promise.reject(new Error('no network')) });
    fleet.on('error', (error, shardId) => errors.push([error.message, shardId]));
    await expect(fleet.start()).rejects.toThrow(/no network/);
    expect(errors).toEqual([[expect.stringContaining('no network'), null]]);
    await expect(fleet.stop()).resolves.toMatchObject({ status: 'failed' });
  });
});

describe('the fleet checks what it is told, by the user or by the server, before anything starts', () => {
  const base = { token: 't', intents: 1, shardCount: 4 as const, url: 'ws://127.0.0.1:1/' };
  const answer = (limit: Partial<GatewayBotInfo['session_start_limit']>, shards = 3): GatewayBotInfo => ({
    url: 'wss://gateway.discord.gg',
    shards,
    session_start_limit: { total: 1000, remaining: 999, reset_after: 5, max_concurrency: 1, ...limit },
  });

  it('GET /gateway/bot: a reset past the longest timer, a remaining above total or an absurd shard count is refused', () => {
    expect(() => publicApi.checkGatewayBotInfo(answer({ reset_after: 86_400_000_000 }))).toThrow(
      /session_start_limit\.reset_after must be at most 2147483647 ms/,
    );
    expect(() => publicApi.checkGatewayBotInfo(answer({ total: 3, remaining: 5 }))).toThrow(/remaining \(5\) must not exceed/);
    expect(() => publicApi.checkGatewayBotInfo(answer({}, 10_000_000))).toThrow(/shards must be at most 100000/);
    expect(() => publicApi.checkGatewayBotInfo(answer({ max_concurrency: 1.5 }))).toThrow(/max_concurrency/);
    expect(publicApi.checkGatewayBotInfo(answer({ reset_after: 2 ** 31 - 1 }, 100_000))).toMatchObject({ shards: 100_000 });
  });

  it('a reset_after past the longest timer fails the start with GATEWAY_INFO_FAILED, never an IDENTIFY on a spent budget', async () => {
    const server = await startChaosGateway({
      heartbeatInterval: 10_000,
      token: 'fleet-token',
      fleet: { maxConcurrency: 1, identifyWindowMs: 10 },
    });
    const fleet = publicApi.createShardManager({
      token: 'fleet-token',
      intents: 1,
      shardCount: 1,
      url: server.url,
      identifyWindowMs: 10,
      timeouts: shortTimeouts,
      // The budget is spent for the next 1,000 days; a timer cannot wait that long, and must not refill it at once.
      gatewayInfo: async () => ({ ...answer({ total: 1, remaining: 0, reset_after: 86_400_000_000 }, 1), url: server.url }),
    });
    const errors: Error[] = [];
    fleet.on('error', (error) => errors.push(error));
    try {
      await expect(fleet.start()).rejects.toThrow(/reset_after/);
      expect(errors).toEqual([expect.objectContaining({ code: 'GATEWAY_INFO_FAILED' })]);
      expect(server.counters.identifies).toBe(0);
    } finally {
      await fleet.stop();
      await server.close();
    }
  });

  it('refuses an identifyWindowMs whose padded window would not fit in one timer', () => {
    expect(() => publicApi.createShardManager({ ...base, identifyWindowMs: 2_147_483_647 })).toThrow(/identifyWindowMs/);
    expect(() => publicApi.createShardManager({ ...base, identifyWindowMs: 2_147_483_647 })).toThrow(TypeError);
  });

  it.each([
    [{ ...base, signal: {} }, /signal must be an AbortSignal/],
    [{ ...base, sessionstore: publicApi.memorySessionStore() }, /unknown option "sessionstore"/],
    [{ ...base, windowMS: 5000 }, /unknown option "windowMS"/],
    [{ ...base, session: null }, /unknown option "session"/],
    [{ ...base, shardCount: 200_000 }, /shardCount must be 'auto' or a whole number from 1 to 100000/],
  ])('refuses %j with a TypeError, before anything starts', (options, message) => {
    const started = vi.spyOn(Actor.prototype, 'start');
    try {
      expect(() => publicApi.createShardManager(options as never)).toThrow(TypeError);
      expect(() => publicApi.createShardManager(options as never)).toThrow(message);
      expect(started).not.toHaveBeenCalled();
    } finally {
      started.mockRestore();
    }
  });

  it('takes every option createGateway has that a fleet passes on to its shards', async () => {
    const fleet = publicApi.createShardManager({
      ...base,
      timeouts: { hello: 1000 },
      backoff: { baseMs: 10 },
      signal: new AbortController().signal,
      socket: { maxPayload: 1 << 20 },
      allowedResumeHosts: ['example.com'],
      inspect: () => {},
      outbox: { maxQueued: 10 },
      clock: new SimulatedClock(),
      compression: 'none',
      identify: { large_threshold: 50 },
      sessionWriteIntervalMs: 500,
    });
    await fleet.stop();
  });

  it('shardFor refuses what is not a snowflake: negative, past 2^64-1, or not plain digits', async () => {
    const fleet = publicApi.createShardManager(base);
    try {
      for (const bad of ['-4194304', -1n, String(2n ** 64n), 2n ** 64n, '', ' 7', '0x10', '1e3']) {
        expect(() => fleet.shardFor(bad), String(bad)).toThrow(TypeError);
        expect(() => fleet.shardFor(bad), String(bad)).toThrow(/not a snowflake/);
      }
      expect(fleet.shardFor(String(2n ** 64n - 1n))).toBe(Number(((2n ** 64n - 1n) >> 22n) % 4n));
      expect(fleet.shardFor('81384788765712384')).toBe(Number((81384788765712384n >> 22n) % 4n));
    } finally {
      await fleet.stop();
    }
  });
});
