import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IdentifyNotice } from '../../src/fleet/types.ts';
import { redisIdentifyQueue, type RedisIdentifyQueueOptions } from '../../src/redis/index.ts';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';
import { DiscordBudget, fixedBudget } from './support/discordBudget.ts';
import { maxIdentifyWindowMs, paddedIdentifyWindowMs } from '../../src/core/identifyWindow.ts';

/** The Redis identify queue against a real redis-server, with several clients contending. */

interface Grant {
  shardId: number;
  bucket: number;
  grantedAt: number;
  budgetLeft: number;
}

let server: RedisServer;
const clients: Redis[] = [];
const queues: { close(): void }[] = [];
let prefixCount = 0;

function client(): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => {});
  clients.push(redis);
  return redis;
}

function queue(options: Omit<RedisIdentifyQueueOptions, 'redis'> & { redis?: Redis }, grants?: Grant[]) {
  const made = redisIdentifyQueue({ redis: options.redis ?? client(), ...options, onGrant: (grant) => grants?.push(grant) });
  queues.push(made);
  return made;
}

/** Keeps Redis busy with a script for `ms` (from another client): every call meanwhile waits, then runs. */
function busyRedis(ms: number): Promise<unknown> {
  return client().eval(
    `local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > ${ms * 1000} return 1`,
    0,
  );
}

/** No two grants of one bucket less than a window apart (in Redis's own time). */
function expectPaced(grants: Grant[], windowMs: number) {
  const byBucket = new Map<number, number[]>();
  for (const grant of grants) byBucket.set(grant.bucket, [...(byBucket.get(grant.bucket) ?? []), grant.grantedAt]);
  for (const [bucket, times] of byBucket) {
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `bucket ${bucket}`).toBeGreaterThanOrEqual(windowMs);
  }
}

describeWithRedis(
  'redisIdentifyQueue',
  () => {
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterEach(() => {
      for (const made of queues.splice(0)) made.close();
    });
    afterAll(async () => {
      await Promise.all(clients.splice(0).map((redis) => redis.quit().catch(() => redis.disconnect())));
      await server?.stop();
    });

    it('grants atomically across 8 clients: one per bucket per window, in every bucket', { timeout: 30_000 }, async () => {
      const prefix = `atomic${++prefixCount}`;
      const grants: Grant[] = [];
      const windowMs = 150;
      const contenders = Array.from({ length: 8 }, () =>
        queue({ prefix, maxConcurrency: 4, windowMs, budget: fixedBudget(1000, 60_000), pollMs: 10 }, grants),
      );
      const started = Date.now();
      // 32 shards, each asked for by all 8 clients at once: 256 waits contend for 4 buckets.
      await Promise.all(
        contenders.flatMap((contender) => Array.from({ length: 8 }, (_, i) => contender.wait(i * 4 + (contenders.indexOf(contender) % 4)))),
      );
      expect(grants).toHaveLength(64);
      expectPaced(grants, windowMs);
      expect(new Set(grants.map((g) => g.budgetLeft)).size).toBe(64);
      expect(Math.min(...grants.map((g) => g.budgetLeft))).toBe(1000 - 64);
      // 16 grants per bucket, one per window: at least 15 windows.
      expect(Date.now() - started).toBeGreaterThanOrEqual(15 * windowMs);
    });

    it('never spends more than the budget across clients, and reports the wait with the time to reset', { timeout: 30_000 }, async () => {
      const prefix = `budget${++prefixCount}`;
      const grants: Grant[] = [];
      const notices: IdentifyNotice[] = [];
      const contenders = Array.from({ length: 3 }, () =>
        queue({ prefix, maxConcurrency: 8, windowMs: 50, budget: fixedBudget(10, 20_000), pollMs: 10 }, grants),
      );
      const stop = new AbortController();
      const waits = contenders.flatMap((contender, index) =>
        Array.from({ length: 8 }, (_, i) =>
          contender
            .wait(index * 8 + i, stop.signal, (notice) => notices.push(notice))
            .then(
              () => 'granted',
              () => 'aborted',
            ),
        ),
      );
      const deadline = Date.now() + 10_000;
      while (notices.length < 14 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 300));
      stop.abort();
      const outcomes = await Promise.all(waits);
      expect(outcomes.filter((o) => o === 'granted')).toHaveLength(10);
      expect(grants).toHaveLength(10);
      expect(notices.length).toBeGreaterThanOrEqual(14);
      for (const notice of notices) {
        expect(notice.code).toBe('IDENTIFY_BUDGET_EXHAUSTED');
        if (notice.code === 'IDENTIFY_BUDGET_EXHAUSTED') {
          expect(notice.retryAfterMs).toBeGreaterThan(15_000);
          expect(notice.retryAfterMs).toBeLessThanOrEqual(20_000);
        }
      }
    });

    it('when Discord resets the budget, reads it again and seeds the new period from the answer', { timeout: 30_000 }, async () => {
      const prefix = `reset${++prefixCount}`;
      const grants: Grant[] = [];
      const discord = new DiscordBudget(3, 400, 2);
      const made = queue({ prefix, maxConcurrency: 16, windowMs: 50, budget: discord.source, pollMs: 10 }, grants);
      const notices: IdentifyNotice[] = [];
      const started = Date.now();
      await Promise.all(
        [0, 1, 2, 3, 4].map((shardId) => made.wait(shardId, undefined, (notice) => notices.push(notice)).then(() => discord.identify())),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      expect(grants.map((g) => g.budgetLeft).sort()).toEqual([0, 0, 1, 1, 2]);
      expect(discord.identifies).toEqual([2, 3]);
      expect(discord.reads).toBe(2);
      expect(notices.every((n) => n.code === 'IDENTIFY_BUDGET_EXHAUSTED')).toBe(true);
      expect(notices).toHaveLength(3);
    });

    it('serves the longest waiter of a bucket first, whoever keeps arriving from other clients', { timeout: 30_000 }, async () => {
      const prefix = `fifo${++prefixCount}`;
      const grants: Grant[] = [];
      const options = { prefix, maxConcurrency: 1, windowMs: 80, budget: fixedBudget(1000, 60_000), pollMs: 15 };
      const contenders = Array.from({ length: 4 }, () => queue(options, grants));
      const arrivals: number[] = [];
      const waits: Promise<void>[] = [];
      // Shard 0 takes the bucket; then a newcomer arrives every 50 ms (far enough apart that a loaded
      // machine cannot swap two arrivals on their way to Redis), each from another client, so there
      // is always someone newer polling who could jump the line.
      for (let shardId = 0; shardId < 16; shardId++) {
        arrivals.push(shardId);
        waits.push(contenders[shardId % 4]!.wait(shardId));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.all(waits);
      // Oldest first; on a loaded machine a waiter whose poll came late may lose a place or two, never more.
      const order = grants.map((g) => g.shardId);
      expect([...order].sort((a, b) => a - b)).toEqual(arrivals);
      for (const shardId of arrivals) {
        const overtakenBy = order.slice(0, order.indexOf(shardId)).filter((other) => other > shardId);
        expect(overtakenBy.length, `shard ${shardId} passed over by ${overtakenBy.join(', ')}`).toBeLessThanOrEqual(2);
      }
      expect(order.filter((shardId, index) => shardId !== arrivals[index]).length).toBeLessThanOrEqual(4);
      expectPaced(grants, 80);
    });

    it(
      'an aborted wait leaves the line at once: the next one is not held up, and nothing is spent for it',
      { timeout: 30_000 },
      async () => {
        const prefix = `abort${++prefixCount}`;
        const grants: Grant[] = [];
        const made = queue({ prefix, maxConcurrency: 1, windowMs: 200, budget: fixedBudget(2, 60_000), pollMs: 10 }, grants);
        await made.wait(0);
        const abort = new AbortController();
        const aborted = made.wait(1, abort.signal);
        await new Promise((resolve) => setTimeout(resolve, 30));
        const next = made.wait(2);
        await new Promise((resolve) => setTimeout(resolve, 30));
        abort.abort();
        await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
        await next;
        expect(grants.map((g) => g.shardId)).toEqual([0, 2]);
        // Shard 2 came one window after shard 0: it did not wait for the aborted ticket to go stale.
        expect(grants[1]!.grantedAt - grants[0]!.grantedAt).toBeLessThan(200 + 150);
        expect(grants[1]!.budgetLeft).toBe(0);
        await expect(made.wait(3, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
      },
    );

    it(
      'a grant won by a call that timed out is found by the next call and used: one IDENTIFY, one unit of budget spent',
      { timeout: 30_000 },
      async () => {
        const prefix = `late${++prefixCount}`;
        const grants: Grant[] = [];
        const redis = client();
        const made = queue(
          { redis, prefix, maxConcurrency: 2, windowMs: 1000, budget: fixedBudget(10), pollMs: 10, timeoutMs: 100, maxBackoffMs: 50 },
          grants,
        );
        // Bucket 1 seeds the budget first, so that bucket 0's calls below are all grants in waiting.
        await made.wait(1);
        const notices: IdentifyNotice[] = [];
        // Another client keeps Redis busy for 400 ms: every attempt meanwhile times out, and runs late.
        const busy = busyRedis(400);
        await new Promise((resolve) => setTimeout(resolve, 30));
        await made.wait(0, undefined, (notice) => notices.push(notice));
        await busy;
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(notices.length).toBeGreaterThan(0);
        expect(notices.every((notice) => notice.code === 'COORDINATOR_UNAVAILABLE')).toBe(true);
        expect(grants.map((g) => g.shardId)).toEqual([1, 0]);
        expect(await redis.get(`{${prefix}}:identify:budget`)).toBe('8');
        // The bucket's window starts when the grant is used.
        expect(await redis.pttl(`{${prefix}}:identify:0:lease`)).toBeGreaterThan(500);
      },
    );

    it(
      'a grant whose answer ioredis rejected (commandTimeout) is not paid again: the retry asks Redis and uses it',
      { timeout: 30_000 },
      async () => {
        const prefix = `rejected${++prefixCount}`;
        const grants: Grant[] = [];
        // ioredis rejects a command after 50 ms although it stays queued and then runs on Redis.
        const redis = new Redis(server.url, { maxRetriesPerRequest: 1, commandTimeout: 50, retryStrategy: () => 50 });
        redis.on('error', () => {});
        clients.push(redis);
        const made = queue(
          { redis, prefix, maxConcurrency: 2, windowMs: 200, budget: fixedBudget(10), pollMs: 10, timeoutMs: 2000, maxBackoffMs: 20 },
          grants,
        );
        await made.wait(1);
        const busy = busyRedis(400);
        await new Promise((resolve) => setTimeout(resolve, 30));
        const notices: IdentifyNotice[] = [];
        await made.wait(0, undefined, (notice) => notices.push(notice));
        await busy;
        // Long enough for a lost grant's lease to run out and be paid for again.
        await new Promise((resolve) => setTimeout(resolve, 600));
        expect(notices.length).toBeGreaterThan(0);
        for (const notice of notices) {
          expect(notice.code).toBe('COORDINATOR_UNAVAILABLE');
          if (notice.code === 'COORDINATOR_UNAVAILABLE') expect(notice.cause.message).toMatch(/timed out/i);
        }
        expect(grants.map((g) => g.shardId)).toEqual([1, 0]);
        expect(await clients[0]!.get(`{${prefix}}:identify:budget`)).toBe('8');
      },
    );

    it('an onGrant that throws does not undo the grant: the wait resolves, a warning says so, nothing is spent twice', async () => {
      const prefix = `ongrant${++prefixCount}`;
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        const redis = client();
        const made = redisIdentifyQueue({
          redis,
          prefix,
          maxConcurrency: 4,
          windowMs: 50,
          pollMs: 10,
          budget: fixedBudget(50),
          onGrant: () => {
            throw new Error('metrics are down');
          },
        });
        queues.push(made);
        await Promise.all([0, 1, 2].map((shardId) => made.wait(shardId)));
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await redis.get(`{${prefix}}:identify:budget`)).toBe('47');
        const ours = warnings.filter((w) => w.message.includes('onGrant threw'));
        expect(ours).toHaveLength(3);
        expect(ours[0]!.message).toMatch(/metrics are down/);
        expect(ours[0]!.name).toBe('LifelineWarning');
      } finally {
        process.off('warning', onWarning);
      }
    });

    it('keeps a bucket’s grants the padded window apart (5%, at least 50 ms), as the default queue does', { timeout: 30_000 }, async () => {
      const prefix = `padded${++prefixCount}`;
      const grants: Grant[] = [];
      const windowMs = 100;
      const made = queue({ prefix, maxConcurrency: 1, windowMs, budget: fixedBudget(100), pollMs: 10 }, grants);
      await Promise.all([0, 1, 2, 3].map((shardId) => made.wait(shardId)));
      expectPaced(grants, paddedIdentifyWindowMs(windowMs));
    });

    it('close rejects pending waits', async () => {
      const prefix = `close${++prefixCount}`;
      const made = queue({ prefix, maxConcurrency: 1, windowMs: 1000, budget: fixedBudget(5), pollMs: 10 });
      await made.wait(0);
      const pending = made.wait(1);
      await new Promise((resolve) => setTimeout(resolve, 30));
      void made.close();
      await expect(pending).rejects.toMatchObject({ code: 'IDENTIFY_QUEUE_CLOSED' });
      await expect(made.wait(2)).rejects.toMatchObject({ code: 'IDENTIFY_QUEUE_CLOSED' });
    });

    describe('options', () => {
      const make = (options: Record<string, unknown>) => () =>
        redisIdentifyQueue({ redis: client(), prefix: 'p', maxConcurrency: 1, budget: fixedBudget(1), ...options });

      it('refuses bad options with a TypeError naming the option', () => {
        expect(make({ prefix: '' })).toThrow(/prefix/);
        expect(make({ redis: {} })).toThrow(/redis/);
        expect(make({ maxConcurrency: 0 })).toThrow(/maxConcurrency/);
        expect(make({ windowMs: 0 })).toThrow(/windowMs/);
        expect(make({ timeoutMs: 0 })).toThrow(/timeoutMs/);
        expect(make({ onGrant: 'yes' })).toThrow(/onGrant/);
      });

      it('refuses a fixed budget snapshot: it would be seeded again, stale, after Redis lost the count', () => {
        expect(make({ budget: { remaining: 1000, resetAfterMs: 86_400_000 } })).toThrow(/budget must be a function/);
      });

      it('refuses timeoutMs, pollMs and maxBackoffMs past the longest timer (Node fires those after 1 ms)', () => {
        for (const name of ['timeoutMs', 'pollMs', 'maxBackoffMs']) {
          expect(make({ [name]: 2 ** 31 })).toThrow(new RegExp(`${name} must be at most 2147483647`));
          expect(make({ [name]: Number.POSITIVE_INFINITY })).toThrow(new RegExp(name));
        }
        expect(make({ timeoutMs: 2 ** 31 - 1, pollMs: 2 ** 31 - 1, maxBackoffMs: 2 ** 31 - 1 })).not.toThrow();
      });

      it('refuses a window whose padded form would not fit in one timer', () => {
        expect(make({ windowMs: 2_147_483_647 })).toThrow(/windowMs must be at most/);
        expect(make({ windowMs: maxIdentifyWindowMs })).not.toThrow();
      });

      it('refuses misspelt or unknown keys, naming them', () => {
        expect(make({ windowMS: 5000 })).toThrow(/unknown option "windowMS"/);
        expect(make({ maxconcurrency: 2 })).toThrow(/unknown option "maxconcurrency"/);
        expect(make({ sessionStore: {} })).toThrow(TypeError);
      });
    });
  },
  describe,
  it,
);
