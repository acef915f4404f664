import { Redis } from 'ioredis';
import { createShardManager, memoryIdentifyQueue } from '../../../src/index.ts';
import { redisSessionStore } from '../../../src/redis/index.ts';
import { childFleetTiming, reportFleet } from '../../fleet/support/fleetLines.ts';

/**
 * A fleet in a process of its own that keeps its sessions in Redis with a given TTL, for crash
 * tests: argv[2] is JSON with the gateway URL, the Redis URL, the prefix, the shard count, the TTL
 * and an optional go key. With a go key it connects to Redis, prints `{ waiting: true }` and reads
 * nothing until the key exists, so a test can have a replacement ready the moment it kills the
 * first process. Then it prints as `reportFleet` does.
 */
interface Args {
  url: string;
  redis: string;
  prefix: string;
  shardCount: number;
  ttlMs: number;
  goKey?: string;
}
const args = JSON.parse(process.argv[2]!) as Args;
const redis = new Redis(args.redis, { maxRetriesPerRequest: 1 });
redis.on('error', () => {});
if (args.goKey) {
  await redis.ping();
  process.stdout.write(`${JSON.stringify({ waiting: true })}\n`);
  while ((await redis.get(args.goKey)) === null) await new Promise((resolve) => setTimeout(resolve, 5));
}
const fleet = createShardManager({
  token: 'fleet-token-7c21',
  intents: 513,
  shardCount: args.shardCount,
  url: args.url,
  identifyQueue: memoryIdentifyQueue({ maxConcurrency: 4, windowMs: 120, budget: { remaining: 1000, resetAfterMs: 86_400_000 } }),
  sessionStore: redisSessionStore({ redis, prefix: args.prefix, ttlMs: args.ttlMs }),
  ...childFleetTiming,
});
await reportFleet(fleet);
