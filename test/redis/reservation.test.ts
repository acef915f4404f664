import { createServer, connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IdentifyNotice } from '../../src/fleet/types.ts';
import { gatewayBotBudget, redisIdentifyQueue, type RedisIdentifyQueueOptions } from '../../src/redis/index.ts';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';
import { fixedBudget } from './support/discordBudget.ts';
import { paddedIdentifyWindowMs } from '../../src/core/identifyWindow.ts';
import { closeFleets, fleetToken, startFleet, startFleetServer } from '../fleet/support/fleetHarness.ts';
import { shortTimeouts } from '../support/realGateway.ts';

/**
 * Reservations on the Redis identify queue: a grant taken before the socket opens holds its bucket
 * until the caller says the IDENTIFY went out (the window runs from then) or that none will (the
 * bucket reopens and the budget gets the unit back). Real redis-server, several clients sharing a
 * prefix as the processes of one bot do.
 */

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Keeps Redis busy with a script for `ms` (from another client): every call meanwhile waits, then runs. */
function busyRedis(ms: number): Promise<unknown> {
  return client().eval(
    `local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > ${ms * 1000} return 1`,
    0,
  );
}

/**
 * A TCP relay in front of the gateway that holds each new connection for `delayOf(n)` ms (n counts
 * connections from 0) before passing it on: sockets that are slow to open, as over a long route.
 */
async function slowOpeningRelay(targetPort: number, delayOf: (n: number) => number) {
  let accepted = 0;
  const delays: number[] = [];
  const sockets = new Set<Socket>();
  const relay = createServer((incoming) => {
    const delay = delayOf(accepted++);
    delays.push(delay);
    sockets.add(incoming);
    incoming.on('error', () => {});
    const timer = setTimeout(() => {
      const outgoing = connect(targetPort, '127.0.0.1');
      sockets.add(outgoing);
      outgoing.on('error', () => incoming.destroy());
      outgoing.on('close', () => incoming.destroy());
      incoming.on('close', () => outgoing.destroy());
      incoming.pipe(outgoing);
      outgoing.pipe(incoming);
    }, delay);
    incoming.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port } = relay.address() as { port: number };
  return {
    port,
    delays,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        relay.close(() => resolve());
      }),
  };
}

const budgetKey = (prefix: string) => `{${prefix}}:identify:budget`;
const leaseKey = (prefix: string, bucket: number) => `{${prefix}}:identify:${bucket}:lease`;

describeWithRedis(
  'redisIdentifyQueue reservations (a turn taken before the socket opens)',
  () => {
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterEach(async () => {
      await closeFleets();
      for (const made of queues.splice(0)) made.close();
    });
    afterAll(async () => {
      await Promise.all(clients.splice(0).map((redis) => redis.quit().catch(() => redis.disconnect())));
      await server?.stop();
    });

    it(
      "measures the bucket's window from sent(), not from the grant, across two queues sharing a prefix",
      { timeout: 20_000 },
      async () => {
        const prefix = `sent${++prefixCount}`;
        const grants: Grant[] = [];
        const windowMs = 100;
        const options = { prefix, maxConcurrency: 1, windowMs, budget: fixedBudget(10), pollMs: 10 };
        const first = queue(options, grants);
        const second = queue(options, grants);
        const turn = await first.reserve(0, { holdMs: 5_000 });
        const next = second.reserve(1, { holdMs: 5_000 });
        // The socket takes 400 ms to open: a window from the grant (150 ms, padded) would have let shard 1 in.
        await sleep(400);
        expect(grants.map((g) => g.shardId)).toEqual([0]);
        const sentAt = Date.now();
        turn.sent();
        await next;
        expect(grants.map((g) => g.shardId)).toEqual([0, 1]);
        // Redis's clock and Date.now() are one clock on this host (whole ms each, hence the 1).
        expect(grants[1]!.grantedAt).toBeGreaterThanOrEqual(sentAt + paddedIdentifyWindowMs(windowMs) - 1);
        // ...and the hold ended there: shard 1 did not wait for it to run out.
        expect(grants[1]!.grantedAt - grants[0]!.grantedAt).toBeLessThan(5_000);
      },
    );

    it('release() reopens the bucket at once and gives the budget its unit back', { timeout: 20_000 }, async () => {
      const prefix = `release${++prefixCount}`;
      const grants: Grant[] = [];
      const redis = client();
      // A long window: the next in line must not sleep through it after a release.
      const options = { prefix, maxConcurrency: 1, windowMs: 3_000, budget: fixedBudget(1), pollMs: 10 };
      const first = queue({ ...options, redis }, grants);
      const second = queue(options, grants);
      const turn = await first.reserve(0, { holdMs: 5_000 });
      const notices: IdentifyNotice[] = [];
      const next = second.reserve(1, { holdMs: 5_000, report: (notice) => notices.push(notice) });
      // Budget 1, spent on shard 0: shard 1 hears that it is spent.
      await until(() => notices.length > 0, 'the spent budget to be reported');
      expect(notices[0]).toMatchObject({ code: 'IDENTIFY_BUDGET_EXHAUSTED' });
      expect(await redis.get(budgetKey(prefix))).toBe('0');
      turn.release();
      const nextTurn = await next;
      expect(grants.map((g) => g.shardId)).toEqual([0, 1]);
      expect(grants[1]!.grantedAt - grants[0]!.grantedAt).toBeLessThan(1_000);
      expect(grants[1]!.budgetLeft).toBe(0);
      nextTurn.sent();
      await until(async () => (await redis.pttl(leaseKey(prefix, 0))) <= paddedIdentifyWindowMs(3_000), 'the window from sent');
    });

    it(
      'a reservation that says neither, or whose word cannot reach Redis, keeps its bucket closed for the hold and a window',
      { timeout: 20_000 },
      async () => {
        const prefix = `neither${++prefixCount}`;
        const grants: Grant[] = [];
        const windowMs = 100;
        const holdMs = 300;
        const keptMs = holdMs + paddedIdentifyWindowMs(windowMs);
        const options = { prefix, maxConcurrency: 2, windowMs, budget: fixedBudget(10), pollMs: 10 };
        const watcher = client();
        const silent = queue(options, grants);
        const cutOffClient = client();
        const cutOff = queue({ ...options, redis: cutOffClient }, grants);
        const others = queue(options, grants);
        // Bucket 0: the caller never says a word. Bucket 1: it says sent, but its Redis is gone.
        await silent.reserve(0, { holdMs });
        const lostWord = await cutOff.reserve(1, { holdMs });
        expect(await watcher.pttl(leaseKey(prefix, 0))).toBeGreaterThan(keptMs - 100);
        cutOffClient.disconnect();
        expect(() => lostWord.sent()).not.toThrow();
        await Promise.all([others.wait(2), others.wait(3)]);
        const at = (shardId: number) => grants.find((g) => g.shardId === shardId)!.grantedAt;
        expect(at(2) - at(0)).toBeGreaterThanOrEqual(keptMs);
        expect(at(3) - at(1)).toBeGreaterThanOrEqual(keptMs);
      },
    );

    it(
      'a lost count is read again only once no lease from the old count is left, so Discord has counted the held IDENTIFY',
      { timeout: 20_000 },
      async () => {
        const prefix = `reread${++prefixCount}`;
        const windowMs = 100;
        const reads: number[] = [];
        const budget = () => {
          reads.push(Date.now());
          return Promise.resolve({ remaining: 5, resetAfterMs: 600_000 });
        };
        const redis = client();
        const options = { prefix, redis, maxConcurrency: 2, windowMs, budget, pollMs: 10 };
        const made = queue(options);
        const held = await made.reserve(0, { holdMs: 5_000 });
        expect(reads).toHaveLength(1);
        // The count goes missing (Discord's reset, or a Redis that lost it) while shard 0 still opens its socket.
        await redis.del(budgetKey(prefix));
        const next = made.wait(1);
        await sleep(600);
        expect(reads).toHaveLength(1);
        const sentAt = Date.now();
        held.sent();
        await next;
        expect(reads).toHaveLength(2);
        // Read after the held IDENTIFY went out and its window passed: its arrival is in Discord's answer.
        expect(reads[1]!).toBeGreaterThanOrEqual(sentAt + paddedIdentifyWindowMs(windowMs) - 1);
      },
    );

    it('says sent or release once: a second word, or a word after the other, changes nothing', { timeout: 20_000 }, async () => {
      const prefix = `once${++prefixCount}`;
      const windowMs = 100;
      const redis = client();
      const made = queue({ prefix, redis, maxConcurrency: 2, windowMs, budget: fixedBudget(10), pollMs: 10 });
      const used = await made.reserve(0, { holdMs: 5_000 });
      const givenBack = await made.reserve(1, { holdMs: 5_000 });
      expect(await redis.get(budgetKey(prefix))).toBe('8');
      used.sent();
      used.release();
      used.sent();
      givenBack.release();
      givenBack.release();
      givenBack.sent();
      await until(async () => (await redis.exists(leaseKey(prefix, 1))) === 0, 'the given-back lease to go');
      await sleep(100);
      // One unit back (shard 1's), not two; shard 0's IDENTIFY went out and stays paid for.
      expect(await redis.get(budgetKey(prefix))).toBe('9');
      expect(await redis.exists(leaseKey(prefix, 1))).toBe(0);
      // Shard 0's bucket: a window from its sent(), not deleted by the release that followed.
      await made.wait(2);
      expect(await redis.get(budgetKey(prefix))).toBe('8');
    });

    it(
      'a reservation won by a call whose answer was lost is used by the next call, paid once, its hold starting then',
      { timeout: 20_000 },
      async () => {
        const prefix = `late${++prefixCount}`;
        const grants: Grant[] = [];
        const redis = client();
        const windowMs = 200;
        const made = queue(
          { redis, prefix, maxConcurrency: 2, windowMs, budget: fixedBudget(10), pollMs: 10, timeoutMs: 100, maxBackoffMs: 50 },
          grants,
        );
        // Bucket 1 seeds the budget first, so that bucket 0's calls below are all grants in waiting.
        await made.wait(1);
        const notices: IdentifyNotice[] = [];
        const busy = busyRedis(400);
        await sleep(30);
        const turn = await made.reserve(0, { holdMs: 3_000, report: (notice) => notices.push(notice) });
        await busy;
        expect(notices.length).toBeGreaterThan(0);
        expect(grants.map((g) => g.shardId)).toEqual([1, 0]);
        expect(await redis.get(budgetKey(prefix))).toBe('8');
        // Still held: the hold is not lost to the retry, and it started when the grant was used.
        expect(await redis.pttl(leaseKey(prefix, 0))).toBeGreaterThan(2_000);
        turn.sent();
        await until(async () => (await redis.pttl(leaseKey(prefix, 0))) <= paddedIdentifyWindowMs(windowMs), 'the window from sent');
      },
    );

    it('waiters behind a long hold keep their place in line, however long it lasts', { timeout: 20_000 }, async () => {
      const prefix = `line${++prefixCount}`;
      const grants: Grant[] = [];
      // A waiter unheard of for 2 × 100 + 100 ms is presumed dead: the hold below lasts far longer.
      const options = { prefix, maxConcurrency: 1, windowMs: 50, budget: fixedBudget(10), pollMs: 10, timeoutMs: 100 };
      const holder = queue(options, grants);
      const turn = await holder.reserve(0, { holdMs: 1_500 });
      const waits: Promise<unknown>[] = [];
      for (const shardId of [1, 2, 3]) {
        waits.push(
          queue(options, grants)
            .reserve(shardId, { holdMs: 1_500 })
            .then((next) => next.sent()),
        );
        await sleep(30);
      }
      await sleep(1_000);
      turn.sent();
      await Promise.all(waits);
      expect(grants.map((g) => g.shardId)).toEqual([0, 1, 2, 3]);
    });

    it('refuses a hold that is not a duration, and ends like a wait on abort and on close', { timeout: 20_000 }, async () => {
      const made = queue({ prefix: `opts${++prefixCount}`, maxConcurrency: 1, windowMs: 1_000, budget: fixedBudget(5), pollMs: 10 });
      for (const holdMs of [0, Number.NaN, 2 ** 31, '100']) {
        await expect(made.reserve(0, { holdMs: holdMs as number })).rejects.toThrow(/holdMs/);
      }
      await expect(made.reserve(0, null as never)).rejects.toThrow(TypeError);
      await expect(made.reserve(-1, { holdMs: 100 })).rejects.toThrow(TypeError);
      await expect(made.reserve(0, { holdMs: 100, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
      await made.reserve(0, { holdMs: 100 });
      const pending = made.reserve(1, { holdMs: 100 });
      await sleep(30);
      void made.close();
      await expect(pending).rejects.toMatchObject({ code: 'IDENTIFY_QUEUE_CLOSED' });
    });

    describe('a fleet on the Redis queue, sockets slow to open', () => {
      it('two shard managers sharing a prefix: every IDENTIFY a window apart at the server, all READY', { timeout: 30_000 }, async () => {
        const windowMs = 200;
        const gateway = await startFleetServer({ maxConcurrency: 1, identifyWindowMs: windowMs, startInOrder: false });
        // One bucket, so connections open in grant order: every other one takes 400 ms, longer than
        // the padded window the queue keeps between grants.
        const relay = await slowOpeningRelay(gateway.port, (n) => (n % 2 === 0 ? 400 : 0));
        try {
          const prefix = `fleet${++prefixCount}`;
          const url = gateway.url.replace(`:${gateway.port}/`, `:${relay.port}/`);
          const fleets = [
            [0, 1, 2],
            [3, 4, 5],
          ].map((shardIds) =>
            startFleet(gateway, {
              url,
              shardCount: 6,
              shardIds,
              timeouts: { ...shortTimeouts, connect: 2_000, hello: 1_000, ready: 1_000 },
              identifyQueue: queue({
                prefix,
                maxConcurrency: 1,
                // The server measures arrivals: the queue keeps its windows a little wider.
                windowMs: windowMs + 50,
                budget: gatewayBotBudget({ token: fleetToken, baseUrl: gateway.apiUrl }),
                pollMs: 10,
              }),
            }),
          );
          await Promise.all(fleets.map((h) => h.fleet.start()));
          expect(gateway.violations).toEqual([]);
          expect(gateway.identified.map((entry) => entry.shard).sort()).toEqual([0, 1, 2, 3, 4, 5]);
          expect(relay.delays.filter((delay) => delay > 0).length).toBeGreaterThanOrEqual(3);
          for (const h of fleets) expect(Object.values(h.fleet.shards()).every((shard) => shard.status === 'ready')).toBe(true);
        } finally {
          await closeFleets();
          await relay.close();
        }
      });
    });
  },
  describe,
  it,
);
