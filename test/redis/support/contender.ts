import { Redis } from 'ioredis';
import { redisIdentifyQueue } from '../../../src/redis/index.ts';

/**
 * One process of a fleet contending for IDENTIFY grants through Redis: waits for all its shards at
 * once, prints each grant (Redis time) and notice as a JSON line, and stays alive until killed.
 */
const [url, prefix, shardList, maxConcurrency, windowMs, remaining, resetAfterMs, goKey] = process.argv.slice(2);
const redis = new Redis(url!, { maxRetriesPerRequest: 1 });
redis.on('error', () => {});
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
const queue = redisIdentifyQueue({
  redis,
  prefix: prefix!,
  maxConcurrency: Number(maxConcurrency),
  windowMs: Number(windowMs),
  // A Discord nobody else spends from: every process would read the same.
  budget: () => Promise.resolve({ remaining: Number(remaining), resetAfterMs: Number(resetAfterMs) }),
  pollMs: 20,
  onGrant: (grant) => print({ grant: { ...grant, pid: process.pid } }),
});
print({ started: process.pid });
// Processes of one test start asking together (when the test sets the go key), so they really contend.
while (goKey && (await redis.get(goKey)) === null) await new Promise((resolve) => setTimeout(resolve, 10));
print({ asking: Date.now() });
const shardIds = shardList!.split(',').map(Number);
await Promise.all(shardIds.map((shardId) => queue.wait(shardId, undefined, (notice) => print({ notice: notice.code, shardId }))));
print({ allGranted: true });
setInterval(() => {}, 1 << 30);
