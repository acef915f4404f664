import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisSessionStore } from '../../src/redis/index.ts';
import { ScriptProcess } from '../fleet/support/child.ts';
import { closeFleets, startFleetServer } from '../fleet/support/fleetHarness.ts';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';

let server: RedisServer;
let redis: Redis;
const session = { sessionId: 'abc', sequence: 42, resumeUrl: 'wss://resume.example/?v=10', shardCount: 16 };

describeWithRedis(
  'redisSessionStore',
  () => {
    beforeAll(async () => {
      server = await RedisServer.start();
      redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
    });
    afterAll(async () => {
      await redis?.quit();
      await server?.stop();
    });

    it('round-trips sessions between clients (another process reads what one wrote), and null forgets', async () => {
      const writer = redisSessionStore({ redis, prefix: 'bot' });
      const other = new Redis(server.url);
      try {
        const reader = redisSessionStore({ redis: other, prefix: 'bot' });
        expect(await reader.get(3)).toBeNull();
        await writer.set(3, session);
        await writer.set(4, { ...session, resumeUrl: null, sequence: 0 });
        expect(await reader.get(3)).toEqual(session);
        expect(await reader.get(4)).toEqual({ ...session, resumeUrl: null, sequence: 0 });
        // Another prefix is another bot.
        expect(await redisSessionStore({ redis: other, prefix: 'otherbot' }).get(3)).toBeNull();
        await writer.set(3, null);
        expect(await reader.get(3)).toBeNull();
      } finally {
        await other.quit();
      }
    });

    it('expires a session ttlMs after its last write, and each write renews it', async () => {
      const store = redisSessionStore({ redis, prefix: 'ttl', ttlMs: 1000 });
      await store.set(0, session);
      const ttl = await redis.pttl('{ttl}:session:0');
      expect(ttl).toBeGreaterThan(800);
      expect(ttl).toBeLessThanOrEqual(1000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await store.set(0, { ...session, sequence: 43 });
      await new Promise((resolve) => setTimeout(resolve, 600));
      // 1.1 s after the first write: alive only because the second renewed it.
      expect((await store.get(0))?.sequence).toBe(43);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await store.get(0)).toBeNull();
    });

    it('reads a corrupt entry as null', async () => {
      const store = redisSessionStore({ redis, prefix: 'corrupt' });
      await redis.set('{corrupt}:session:0', '{"sessionId":');
      await redis.set('{corrupt}:session:1', JSON.stringify({ ...session, sequence: -4 }));
      await redis.set('{corrupt}:session:2', '"just a string"');
      for (const shardId of [0, 1, 2]) expect(await store.get(shardId)).toBeNull();
    });

    it('rejects (bounded in time) while Redis is away, and refuses bad input with a TypeError', async () => {
      const store = redisSessionStore({ redis, prefix: 'bad' });
      await expect(store.set(-1, session)).rejects.toThrow(/shardId/);
      await expect(store.set(0, { ...session, sessionId: '' })).rejects.toThrow(TypeError);
      expect(() => redisSessionStore({ redis, prefix: 'x', ttlMs: 0 })).toThrow(/ttlMs/);
      // It tells whoever keeps sessions in it how soon an entry expires.
      expect(redisSessionStore({ redis, prefix: 'x', ttlMs: 1234 }).ttlMs).toBe(1234);
      const nowhere = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      nowhere.on('error', () => {});
      const away = redisSessionStore({ redis: nowhere, prefix: 'away', timeoutMs: 500 });
      const started = Date.now();
      await expect(away.get(0)).rejects.toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(2000);
      nowhere.disconnect();
    });

    it('refuses durations past the longest timer and unknown keys, naming them', () => {
      expect(() => redisSessionStore({ redis, prefix: 'x', timeoutMs: 2 ** 31 })).toThrow(/timeoutMs must be at most 2147483647/);
      expect(() => redisSessionStore({ redis, prefix: 'x', ttlMs: 2 ** 31 })).toThrow(/ttlMs must be at most 2147483647/);
      expect(() => redisSessionStore({ redis, prefix: 'x', ttl: 1000 } as never)).toThrow(/unknown option "ttl"/);
    });
  },
  describe,
  it,
);

type FleetLine = { shardId?: number; ready?: true | 'identify' | 'resume'; waiting?: true };
const isFleetLine = (line: unknown): line is FleetLine => typeof line === 'object' && line !== null;

describeWithRedis(
  'a running fleet on redisSessionStore',
  () => {
    const children: ScriptProcess[] = [];
    beforeAll(async () => {
      server = await RedisServer.start();
      redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
    });
    afterEach(async () => {
      await Promise.all(children.splice(0).map((child) => child.kill()));
      await closeFleets();
    });
    afterAll(async () => {
      await redis?.quit();
      await server?.stop();
    });

    function quietFleet(gateway: string, prefix: string, ttlMs: number, goKey?: string): ScriptProcess {
      const child = ScriptProcess.start('../../redis/support/quietFleetProcess.ts', [
        JSON.stringify({ url: gateway, redis: server.url, prefix, shardCount: 4, ttlMs, goKey }),
      ]);
      children.push(child);
      return child;
    }

    it('a shard without a single event for five TTLs keeps its session, and a replacement after kill -9 RESUMEs every shard', async () => {
      const ttlMs = 600;
      const gateway = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 20 });
      const first = quietFleet(gateway.url, 'quiet', ttlMs);
      await first.until((line): line is FleetLine => isFleetLine(line) && line.ready === true);
      // The replacement is up and connected to Redis, waiting to read until the first is gone.
      const replacement = quietFleet(gateway.url, 'quiet', ttlMs, 'quiet:go');
      await replacement.until((line): line is FleetLine => isFleetLine(line) && line.waiting === true);

      const dispatched = gateway.counters.dispatched;
      await new Promise((resolve) => setTimeout(resolve, 5 * ttlMs));
      expect(gateway.counters.dispatched).toBe(dispatched);
      for (let shardId = 0; shardId < 4; shardId++) {
        expect(await redis.get(`{quiet}:session:${shardId}`), `shard ${shardId} after five TTLs`).not.toBeNull();
      }

      await first.kill('SIGKILL');
      const identifies = gateway.counters.identifies;
      await redis.set('quiet:go', '1');
      await replacement.until((line): line is FleetLine => isFleetLine(line) && line.ready === true);
      const handshakes = (replacement.lines as FleetLine[]).filter((line) => typeof line.ready === 'string').map((line) => line.ready);
      expect(handshakes).toEqual(['resume', 'resume', 'resume', 'resume']);
      expect(gateway.counters.identifies).toBe(identifies);
    }, 30_000);
  },
  describe,
  it,
);
