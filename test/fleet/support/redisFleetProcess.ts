import { Redis } from 'ioredis';
import { childFleetTiming, reportFleet, stopOnSigterm } from './fleetLines.ts';
import { createShardManager } from '../../../src/fleet/createShardManager.ts';
import { redisIdentifyQueue, redisSessionStore } from '../../../src/redis/index.ts';

/**
 * One process of a fleet spread over several, coordinated through Redis. Arguments, as JSON in
 * argv[2]: the gateway URL, the Redis URL, the key prefix, the shard count, this process's shard
 * ids, the bucket window and the shared budget. It prints a JSON line per event delivered, per
 * shard ready, per error, and `{ ready: true }` once all its shards are; on SIGTERM it stops with
 * its sessions kept and prints `{ stopped: true }`.
 */
interface Args {
  url: string;
  redis: string;
  prefix: string;
  shardCount: number;
  shardIds: number[];
  windowMs: number;
  maxConcurrency: number;
  budget: number;
}
const args = JSON.parse(process.argv[2]!) as Args;

const redis = new Redis(args.redis, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
redis.on('error', () => {}); // outages are reported by the queue and the store, with their cause
const queue = redisIdentifyQueue({
  redis,
  prefix: args.prefix,
  maxConcurrency: args.maxConcurrency,
  windowMs: args.windowMs,
  budget: { remaining: args.budget, total: args.budget, resetAfterMs: 86_400_000 },
  timeoutMs: 300,
  maxBackoffMs: 500,
});
const fleet = createShardManager({
  token: 'fleet-token-7c21',
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
