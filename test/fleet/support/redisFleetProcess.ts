import { Redis } from 'ioredis';
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
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

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
  sessionWriteIntervalMs: 200,
  timeouts: { connect: 1_000, hello: 2_000, ready: 2_000, drain: 80, terminateGrace: 40 },
  backoff: { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 },
});
fleet.on('dispatch', (payload, shardId) => print({ shardId, s: payload.s }));
fleet.on('state', (change, shardId) => {
  if (change.state === 'ready') print({ shardId, ready: change.handshake, sessionId: fleet.session(shardId)?.sessionId });
});
fleet.on('error', (error, shardId) => print({ shardId, code: (error as { code?: string }).code ?? 'ERROR', error: error.message }));
process.on('SIGTERM', () => {
  void fleet.stop({ keepSessions: true }).then(async () => {
    void queue.close();
    redis.disconnect();
    print({ stopped: true });
    process.exit(0);
  });
});
await fleet.start();
print({ ready: true });
