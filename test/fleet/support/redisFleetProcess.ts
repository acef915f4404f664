import { Redis } from 'ioredis';
import { childFleetTiming, reportFleet, stopOnSigterm } from './fleetLines.ts';
import { createShardManager } from '../../../src/fleet/createShardManager.ts';
import { gatewayBotBudget, redisIdentifyQueue, redisSessionStore } from '../../../src/redis/index.ts';

/**
 * One process of a fleet spread over several, coordinated through Redis. Arguments, as JSON in
 * argv[2]: the gateway URL and its REST base URL, the Redis URL, the key prefix, the shard count,
 * this process's shard ids and the bucket window (the budget is what the gateway's GET
 * /gateway/bot says). It prints a JSON line per event delivered, per shard ready, per error, and
 * `{ ready: true }` once all its shards are; on SIGTERM it stops with its sessions kept and prints
 * `{ stopped: true }`.
 */
interface Args {
  url: string;
  /** the chaos gateway's REST base URL (GET /gateway/bot) */
  api: string;
  redis: string;
  prefix: string;
  shardCount: number;
  shardIds: number[];
  windowMs: number;
  maxConcurrency: number;
}
const args = JSON.parse(process.argv[2]!) as Args;
const token = 'fleet-token-7c21';

const redis = new Redis(args.redis, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
redis.on('error', () => {}); // outages are reported by the queue and the store, with their cause
const queue = redisIdentifyQueue({
  redis,
  prefix: args.prefix,
  maxConcurrency: args.maxConcurrency,
  windowMs: args.windowMs,
  // The chaos gateway answers GET /gateway/bot with its own budget, as Discord would.
  budget: gatewayBotBudget({ token, baseUrl: args.api }),
  timeoutMs: 300,
  maxBackoffMs: 500,
});
const fleet = createShardManager({
  token,
  intents: 513,
  shardCount: args.shardCount,
  shardIds: args.shardIds,
  url: args.url,
  identifyQueue: queue,
  sessionStore: redisSessionStore({ redis, prefix: args.prefix }),
  ...childFleetTiming,
});
stopOnSigterm(fleet, () => {
  void queue.close();
  redis.disconnect();
});
await reportFleet(fleet);
