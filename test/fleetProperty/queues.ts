import { Redis } from 'ioredis';
import { paddedIdentifyWindowMs } from '../../src/core/identifyWindow.ts';
import { fetchGatewayBot, memoryIdentifyQueue, memorySessionStore, type IdentifyQueue, type SessionStore } from '../../src/index.ts';
import { gatewayBotBudget, redisIdentifyQueue, redisSessionStore } from '../../src/redis/index.ts';
import type { QueueKind } from './schedule.ts';

/** What a queue needs to know of the world it runs in. */
export interface QueueSite {
  kind: QueueKind;
  token: string;
  /** the chaos gateway's REST base: the budget and `max_concurrency` come from its GET /gateway/bot */
  apiUrl: string;
  /** the bucket window as Discord states it; each queue keeps its own margin over it */
  windowMs: number;
  /** for the Redis queue: this process's client and the bot's key prefix */
  redis?: { client: Redis; prefix: string };
  /** for the Redis queue: each script reply is held back by up to this many ms, at random */
  replyLagMs?: number;
}

export type ClosableQueue = IdentifyQueue & { close(): void };

/**
 * Every identify queue of the suite is made here, from a fresh GET /gateway/bot, as a process
 * makes its queue at start.
 */
export async function createIdentifyQueue(site: QueueSite): Promise<ClosableQueue> {
  const requestedAt = performance.now();
  const { session_start_limit: limit } = await fetchGatewayBot({ token: site.token, baseUrl: site.apiUrl });
  // Discord read the limit somewhere between the request and the answer: the queue keeps out of that gap.
  const readLatencyMs = Math.ceil(performance.now() - requestedAt);
  const budget = { remaining: limit.remaining, resetAfterMs: limit.reset_after, total: limit.total, readLatencyMs };
  if (site.kind === 'memory') {
    // As the shard manager makes its own default queue: with the margin over Discord's window.
    return memoryIdentifyQueue({ maxConcurrency: limit.max_concurrency, windowMs: paddedIdentifyWindowMs(site.windowMs), budget });
  }
  if (!site.redis) throw new Error('a Redis queue needs a Redis client and prefix');
  return redisIdentifyQueue({
    redis: site.replyLagMs ? lagging(site.redis.client, site.replyLagMs) : site.redis.client,
    prefix: site.redis.prefix,
    maxConcurrency: limit.max_concurrency,
    windowMs: site.windowMs,
    // Read afresh whenever the shared count is missing, as a real process would.
    budget: gatewayBotBudget({ token: site.token, baseUrl: site.apiUrl }),
    timeoutMs: 300,
    maxBackoffMs: 200,
  });
}

/** The client with every script reply held back by 0 to `maxMs` ms: the command itself runs at once. */
function lagging(client: Redis, maxMs: number): Redis {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'evalsha' && property !== 'eval') return value.bind(target);
      return async (...args: unknown[]) => {
        const reply: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs));
        return reply;
      };
    },
  });
}

/** The queue and store one shard manager runs on, and how to let go of them when its process ends. */
export interface FleetProcess {
  queue: IdentifyQueue;
  store: SessionStore;
  close(): Promise<void>;
}

export interface FleetProcesses {
  /** The resources of the next process (the first one, or the one after a restart). */
  next(): Promise<FleetProcess>;
  /** Ends whatever the processes left open. */
  close(): Promise<void>;
}

/**
 * A restart means different things per queue. The memory queue lives in the process: a manager
 * restarted inside it keeps the same queue and store objects. The Redis queue is shared by
 * processes: each new process has its own client, queue and store on the same keys.
 */
export function fleetProcesses(options: Omit<QueueSite, 'redis'> & { redis?: { url: string; prefix: string } }): FleetProcesses {
  const { redis, ...site } = options;
  if (site.kind === 'memory') {
    let shared: Promise<ClosableQueue> | undefined;
    const store = memorySessionStore();
    return {
      async next() {
        shared ??= createIdentifyQueue(site);
        return { queue: await shared, store, close: async () => {} };
      },
      async close() {
        // A queue that could not be made has nothing to close.
        await shared?.then(
          (queue) => queue.close(),
          () => {},
        );
      },
    };
  }
  if (!redis) throw new Error('a Redis fleet needs a Redis URL and prefix');
  const open = new Set<() => Promise<void>>();
  return {
    async next() {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      // Outages are the point of some schedules; the queue and the store report them.
      client.on('error', () => {});
      let queue: ClosableQueue;
      try {
        queue = await createIdentifyQueue({ ...site, redis: { client, prefix: redis.prefix } });
      } catch (error) {
        client.disconnect();
        throw error;
      }
      const close = async () => {
        open.delete(close);
        void queue.close();
        client.disconnect();
      };
      open.add(close);
      return { queue, store: redisSessionStore({ redis: client, prefix: redis.prefix, timeoutMs: 300 }), close };
    },
    async close() {
      for (const close of [...open]) await close();
    },
  };
}
