import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IdentifyNotice } from '../../src/fleet/types.ts';
import { gatewayBotBudget, redisIdentifyQueue, type BudgetSource, type RedisIdentifyQueueOptions } from '../../src/redis/index.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';
import { DiscordBudget } from './support/discordBudget.ts';

/**
 * The Redis queue's daily budget against a real redis-server: its period is Discord's (anchored
 * when session_start_limit was read), and a count that went missing is read again, never assumed.
 */

let server: RedisServer;
const clients: Redis[] = [];
const queues: { close(): void }[] = [];
const gateways: ChaosGateway[] = [];
let prefixCount = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function client(): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => {});
  clients.push(redis);
  return redis;
}

function queue(options: Omit<RedisIdentifyQueueOptions, 'redis'> & { redis?: Redis }) {
  const made = redisIdentifyQueue({ redis: options.redis ?? client(), ...options });
  queues.push(made);
  return made;
}

/** Waits for each shard, each in its own wait; a granted shard IDENTIFYs at once. Returns a stop. */
function identifyAll(made: ReturnType<typeof queue>, shardIds: number[], discord: DiscordBudget, notices: IdentifyNotice[] = []) {
  const stop = new AbortController();
  const waits = shardIds.map((shardId) =>
    made
      .wait(shardId, stop.signal, (notice) => notices.push(notice))
      .then(
        () => discord.identify(),
        () => {},
      ),
  );
  return async () => {
    stop.abort();
    await Promise.all(waits);
  };
}

describeWithRedis(
  'redisIdentifyQueue: the daily budget',
  () => {
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterEach(async () => {
      for (const made of queues.splice(0)) made.close();
      await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
    });
    afterAll(async () => {
      await Promise.all(clients.splice(0).map((redis) => redis.quit().catch(() => redis.disconnect())));
      await server?.stop();
    });

    it(
      'keeps Discord’s period although the first IDENTIFY comes long after the start: never more than the budget in a period',
      { timeout: 30_000 },
      async () => {
        const prefix = `drift${++prefixCount}`;
        const periodMs = 1000;
        const discord = new DiscordBudget(3, periodMs);
        const options = { prefix, maxConcurrency: 16, windowMs: 20, pollMs: 10, budget: discord.source };
        const [first, second] = [queue(options), queue(options)];
        // Every shard resumed: the first IDENTIFY comes 0.6 periods in.
        await sleep(0.6 * periodMs);
        await first.wait(0);
        discord.identify();
        // Then demand from both processes, across the next two resets.
        await sleep(0.5 * periodMs);
        const stops = [identifyAll(first, [1, 2, 3, 4], discord), identifyAll(second, [5, 6, 7, 8], discord)];
        await sleep(2.2 * periodMs);
        for (const stop of stops) await stop();

        expect(discord.mostInOnePeriod, `IDENTIFYs per period: ${JSON.stringify(discord.identifies)}`).toBeLessThanOrEqual(3);
        // And the budget did come back at each of Discord's resets.
        expect(discord.identifies[1]).toBe(3);
        expect(discord.identifies[2]).toBe(3);
      },
    );

    for (const loss of ['a restart without persistence', 'FLUSHALL', 'eviction of the count'] as const) {
      it(`after ${loss}, reads the budget again rather than reseeding the spent one`, { timeout: 30_000 }, async () => {
        const prefix = `lost${++prefixCount}`;
        const discord = new DiscordBudget(3, 60_000);
        const redis = client();
        const made = queue({
          redis,
          prefix,
          maxConcurrency: 16,
          windowMs: 20,
          pollMs: 10,
          timeoutMs: 300,
          maxBackoffMs: 50,
          budget: discord.source,
        });
        await Promise.all([0, 1, 2].map((shardId) => made.wait(shardId).then(() => discord.identify())));
        expect(discord.identifies).toEqual([3]);

        if (loss === 'a restart without persistence') await server.restart();
        else if (loss === 'FLUSHALL') await redis.flushall();
        else await redis.del(`{${prefix}}:identify:budget`);
        const notices: IdentifyNotice[] = [];
        const stop = identifyAll(made, [3, 4], discord, notices);
        const deadline = Date.now() + 10_000;
        while (!notices.some((n) => n.code === 'IDENTIFY_BUDGET_EXHAUSTED') && Date.now() < deadline) await sleep(20);
        await sleep(300);
        await stop();

        expect(discord.identifies).toEqual([3]);
        const exhausted = notices.find((n) => n.code === 'IDENTIFY_BUDGET_EXHAUSTED');
        // Told to wait for Discord's reset, which the fresh read placed about a minute on.
        expect(exhausted && exhausted.code === 'IDENTIFY_BUDGET_EXHAUSTED' && exhausted.retryAfterMs).toBeGreaterThan(50_000);
        expect(discord.reads).toBe(2);
      });
    }

    it(
      'refuses an answer of the budget source it cannot trust, as a coordinator failure, never as a grant',
      { timeout: 30_000 },
      async () => {
        const answers: unknown[] = [
          { remaining: 1, resetAfterMs: 86_400_000_000 },
          { remaining: -1, resetAfterMs: 1000 },
          { remaining: 1.5, resetAfterMs: 1000 },
          { remaining: 1, resetAfterMs: Number.NaN },
          null,
        ];
        for (const answer of answers) {
          const prefix = `untrusted${++prefixCount}`;
          const notices: IdentifyNotice[] = [];
          let granted = false;
          const made = queue({
            prefix,
            maxConcurrency: 1,
            windowMs: 20,
            pollMs: 10,
            maxBackoffMs: 20,
            budget: () => Promise.resolve(answer as never),
          });
          const stop = new AbortController();
          const waiting = made
            .wait(0, stop.signal, (notice) => notices.push(notice))
            .then(
              () => (granted = true),
              () => {},
            );
          const deadline = Date.now() + 10_000;
          while (notices.length < 2 && Date.now() < deadline) await sleep(10);
          stop.abort();
          await waiting;
          expect(granted, JSON.stringify(answer)).toBe(false);
          expect(notices.length).toBeGreaterThanOrEqual(2);
          for (const notice of notices) {
            expect(notice.code).toBe('COORDINATOR_UNAVAILABLE');
            if (notice.code === 'COORDINATOR_UNAVAILABLE') expect(notice.cause.message).toMatch(/budget source answered badly/);
          }
        }
      },
    );

    it(
      'a budget source that fails is reported and asked again with backoff; the wait completes once it answers',
      { timeout: 30_000 },
      async () => {
        const prefix = `failing${++prefixCount}`;
        let calls = 0;
        const flaky: BudgetSource = () => {
          calls += 1;
          if (calls <= 2) return Promise.reject(new Error('GET /gateway/bot: HTTP 502 Bad Gateway'));
          return Promise.resolve({ remaining: 5, resetAfterMs: 60_000 });
        };
        const notices: IdentifyNotice[] = [];
        let budgetLeft = -1;
        const made = queue({
          prefix,
          maxConcurrency: 1,
          windowMs: 20,
          pollMs: 10,
          maxBackoffMs: 50,
          budget: flaky,
          onGrant: (grant) => (budgetLeft = grant.budgetLeft),
        });
        await made.wait(0, undefined, (notice) => notices.push(notice));
        expect(calls).toBe(3);
        expect(budgetLeft).toBe(4);
        expect(notices.map((n) => n.code)).toEqual(['COORDINATOR_UNAVAILABLE', 'COORDINATOR_UNAVAILABLE']);
        for (const notice of notices) if (notice.code === 'COORDINATOR_UNAVAILABLE') expect(notice.cause.message).toMatch(/502/);
      },
    );

    it('gatewayBotBudget reads GET /gateway/bot: its remaining and reset_after', { timeout: 30_000 }, async () => {
      const token = 'budget-token-5e1d';
      const gateway = await startChaosGateway({
        token,
        fleet: { maxConcurrency: 1, identifyWindowMs: 20, budget: { total: 5, remaining: 2, resetAfterMs: 90_000 } },
      });
      gateways.push(gateway);
      const prefix = `gatewaybot${++prefixCount}`;
      const left: number[] = [];
      const made = queue({
        prefix,
        maxConcurrency: 1,
        windowMs: 20,
        pollMs: 10,
        budget: gatewayBotBudget({ token, baseUrl: gateway.apiUrl }),
        onGrant: (grant) => left.push(grant.budgetLeft),
      });
      await made.wait(0);
      await made.wait(1);
      expect(left).toEqual([1, 0]);
      const notices: IdentifyNotice[] = [];
      const stop = new AbortController();
      const third = made.wait(2, stop.signal, (notice) => notices.push(notice)).catch(() => {});
      const deadline = Date.now() + 10_000;
      while (notices.length === 0 && Date.now() < deadline) await sleep(10);
      stop.abort();
      await third;
      expect(notices[0]).toMatchObject({ code: 'IDENTIFY_BUDGET_EXHAUSTED' });
      if (notices[0]?.code === 'IDENTIFY_BUDGET_EXHAUSTED') {
        expect(notices[0].retryAfterMs).toBeGreaterThan(80_000);
        expect(notices[0].retryAfterMs).toBeLessThanOrEqual(90_000);
      }
      expect(() => gatewayBotBudget({ token: '' })).toThrow(/token/);
      expect(() => gatewayBotBudget({ token, baseURL: 'x' } as never)).toThrow(/baseURL/);
    });
  },
  describe,
  it,
);
