import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentifyNotice } from '../../src/fleet/types.ts';
import { redisIdentifyQueue } from '../../src/redis/index.ts';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';

/**
 * Redis goes away for a few seconds and comes back empty on the same port (no persistence, as
 * after a crash): waits report every failed attempt as COORDINATOR_UNAVAILABLE, nothing crashes
 * or hangs, and every wait completes once Redis is back, still one grant per bucket per window.
 */

let server: RedisServer;
const clients: Redis[] = [];

describeWithRedis(
  'redisIdentifyQueue while Redis is down',
  () => {
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterAll(async () => {
      for (const redis of clients.splice(0)) redis.disconnect();
      await server?.stop();
    });

    it(
      'reports COORDINATOR_UNAVAILABLE while Redis is stopped, and completes every wait after it restarts',
      { timeout: 60_000 },
      async () => {
        const clientErrors: Error[] = [];
        const make = () => {
          // The advice for a fleet: a bounded retry per request, so a command fails fast while Redis is away.
          const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
          redis.on('error', (error: Error) => clientErrors.push(error));
          clients.push(redis);
          return redis;
        };
        const grants: { shardId: number; grantedAt: number; bucket: number }[] = [];
        const notices: { shardId: number; notice: IdentifyNotice; at: number }[] = [];
        const queues = [make(), make()].map((redis) =>
          redisIdentifyQueue({
            redis,
            prefix: 'outage',
            maxConcurrency: 2,
            windowMs: 200,
            budget: () => Promise.resolve({ remaining: 100, resetAfterMs: 600_000 }),
            pollMs: 20,
            timeoutMs: 300,
            maxBackoffMs: 400,
            onGrant: (grant) => grants.push(grant),
          }),
        );
        // Shards 0 and 1 identify while Redis is up.
        await Promise.all([queues[0]!.wait(0), queues[1]!.wait(1)]);
        expect(grants).toHaveLength(2);

        await server.stop();
        const stoppedAt = Date.now();
        const waits = [2, 3, 4, 5].map((shardId) =>
          queues[shardId % 2]!.wait(shardId, undefined, (notice) => notices.push({ shardId, notice, at: Date.now() })),
        );
        await new Promise((resolve) => setTimeout(resolve, 3000));
        expect(grants).toHaveLength(2);
        const restartedAt = Date.now();
        await server.restart();
        await Promise.all(waits);

        expect(grants.map((g) => g.shardId).sort()).toEqual([0, 1, 2, 3, 4, 5]);
        // Each waiting shard heard about the outage, more than once (each failed attempt), with the cause and a bounded retry.
        for (const shardId of [2, 3, 4, 5]) {
          const own = notices.filter((n) => n.shardId === shardId);
          expect(own.length, `shard ${shardId}`).toBeGreaterThanOrEqual(3);
          for (const { notice, at } of own) {
            expect(notice.code).toBe('COORDINATOR_UNAVAILABLE');
            if (notice.code === 'COORDINATOR_UNAVAILABLE') {
              expect(notice.cause).toBeInstanceOf(Error);
              expect(notice.retryInMs).toBeLessThanOrEqual(400);
            }
            expect(at).toBeGreaterThanOrEqual(stoppedAt);
          }
        }
        // After the restart: still one per bucket per window (Redis came back empty, the rule holds anew).
        const after = grants.slice(2).sort((a, b) => a.grantedAt - b.grantedAt);
        for (const bucket of [0, 1]) {
          const times = after.filter((g) => g.bucket === bucket).map((g) => g.grantedAt);
          for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(200);
        }
        expect(after[0]!.grantedAt).toBeGreaterThanOrEqual(restartedAt);
        expect(clientErrors.length).toBeGreaterThan(0);
        for (const queue of queues) void queue.close();
      },
    );
  },
  describe,
  it,
);
