/**
 * Fleet coordination through a real redis-server (not part of `npm test`; run with
 * `npx tsx bench/identifyGrants.ts`):
 *
 * 1. identify grant latency: `wait()` → granted, uncontended (free bucket, budget left), p50/p99;
 * 2. pacing overhead under contention: one bucket, several clients, how long after the previous
 *    grant's window ended the next grant came (p50/p99); the same with reservations (`reserve()`,
 *    `sent()` 20 ms after the grant, as a socket opens), the window measured from `sent()`;
 * 3. Redis commands per shard per minute for session writes in steady state: shards with a
 *    session recorder on redisSessionStore, each moving its sequence 100 times a second, counted
 *    with INFO commandstats.
 *
 * Options: BENCH_GRANTS (default 2000), BENCH_SHARDS (default 100), BENCH_SECONDS (default 10).
 */
import { Redis } from 'ioredis';
import { createSessionRecorder } from '../src/fleet/sessionRecorder.ts';
import { paddedIdentifyWindowMs } from '../src/core/identifyWindow.ts';
import { redisIdentifyQueue, redisSessionStore } from '../src/redis/index.ts';
import { haveRedisServer, redisMissing, RedisServer } from '../test/support/redisServer.ts';
import { percentile } from './lib/stats.ts';
import { markdownTable, ms, num } from './lib/table.ts';

const grantsToTake = Number(process.env.BENCH_GRANTS ?? 2000);
const shards = Number(process.env.BENCH_SHARDS ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0) out.set(name, delta);
  }
  return out;
}

async function uncontendedLatency(redis: Redis): Promise<number[]> {
  const queue = redisIdentifyQueue({
    redis,
    prefix: 'bench-latency',
    maxConcurrency: grantsToTake + 1,
    windowMs: 5000,
    budget: () => Promise.resolve({ remaining: grantsToTake + 1, resetAfterMs: 600_000 }),
  });
  // The first grant of a period waits a window before it reads the budget: not a grant's latency.
  await queue.wait(grantsToTake);
  const samples: number[] = [];
  for (let shardId = 0; shardId < grantsToTake; shardId++) {
    const start = performance.now();
    await queue.wait(shardId);
    samples.push(performance.now() - start);
  }
  void queue.close();
  return samples;
}

async function contendedOverhead(url: string, reserved: boolean): Promise<{ lateness: number[]; clients: Redis[] }> {
  const windowMs = 100;
  const grants: number[] = [];
  // One bucket serves one grant at a time: the n-th sent() belongs to the n-th grant.
  const sentAt: number[] = [];
  const clients = Array.from({ length: 4 }, () => new Redis(url));
  const queues = clients.map((redis) =>
    redisIdentifyQueue({
      redis,
      prefix: reserved ? 'bench-reserved' : 'bench-contended',
      maxConcurrency: 1,
      windowMs,
      budget: () => Promise.resolve({ remaining: 10_000, resetAfterMs: 600_000 }),
      onGrant: (g) => grants.push(g.grantedAt),
    }),
  );
  const take = async (shardId: number) => {
    const queue = queues[shardId % queues.length]!;
    if (!reserved) return queue.wait(shardId);
    const turn = await queue.reserve(shardId, { holdMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Redis's clock and Date.now() are one clock on loopback.
    sentAt.push(Date.now());
    turn.sent();
  };
  await Promise.all(Array.from({ length: 60 }, (_, shardId) => take(shardId)));
  for (const queue of queues) void queue.close();
  grants.sort((a, b) => a - b);
  // Measured from the end of the window the queue keeps (the padded one), from the grant or from sent().
  const keptMs = paddedIdentifyWindowMs(windowMs);
  const windowStart = reserved ? sentAt : grants;
  return { lateness: grants.slice(1).map((at, i) => at - windowStart[i]! - keptMs), clients };
}

async function sessionWrites(
  redis: Redis,
  watcher: Redis,
): Promise<{ perShardPerMinute: number; dispatches: number; commands: Map<string, number> }> {
  const store = redisSessionStore({ redis, prefix: 'bench-sessions' });
  const recorders = Array.from({ length: shards }, (_, shardId) => createSessionRecorder({ store, shardId, shardCount: shards }));
  // Steady state: start the stream, let the first writes go out, then count.
  let sequence = 0;
  let dispatches = 0;
  const tick = setInterval(() => {
    sequence += 1;
    for (const [shardId, recorder] of recorders.entries()) {
      recorder.update({ sessionId: `s${shardId}`, sequence, resumeUrl: null });
      dispatches += 1;
    }
  }, 10);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const before = await commandCalls(watcher);
  const countedFrom = dispatches;
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await commandCalls(watcher);
  const counted = dispatches - countedFrom;
  clearInterval(tick);
  await Promise.all(recorders.map((recorder) => recorder.close()));
  const commands = diff(after, before);
  commands.delete('info');
  const total = [...commands.values()].reduce((sum, calls) => sum + calls, 0);
  return { perShardPerMinute: (total / shards) * (60 / seconds), dispatches: counted, commands };
}

if (!haveRedisServer) {
  console.error(redisMissing);
  process.exit(1);
}
const server = await RedisServer.start();
const redis = new Redis(server.url);
const watcher = new Redis(server.url);
try {
  const latency = await uncontendedLatency(redis);
  const { lateness, clients } = await contendedOverhead(server.url, false);
  const reservedRun = await contendedOverhead(server.url, true);
  const sessions = await sessionWrites(redis, watcher);
  for (const client of [...clients, ...reservedRun.clients]) client.disconnect();

  console.log(`\nIdentify grants through Redis (redis-server on loopback, node ${process.version})\n`);
  console.log(
    markdownTable(
      ['measure', 'samples', 'p50', 'p99'],
      [
        ['grant latency, uncontended (wait → granted)', num(latency.length), ms(percentile(latency, 50)), ms(percentile(latency, 99))],
        [
          'next grant after the window ends, 4 clients on one bucket',
          num(lateness.length),
          ms(percentile(lateness, 50)),
          ms(percentile(lateness, 99)),
        ],
        [
          'next grant after the window from sent() ends, reservations, 4 clients on one bucket',
          num(reservedRun.lateness.length),
          ms(percentile(reservedRun.lateness, 50)),
          ms(percentile(reservedRun.lateness, 99)),
        ],
      ],
    ),
  );
  console.log(`\nSession writes in steady state (${shards} shards, each sequence moving every 10 ms, ${seconds} s counted)\n`);
  console.log(
    markdownTable(
      ['measure', 'value'],
      [
        ['dispatches (sequence moves) counted', num(sessions.dispatches)],
        ['Redis commands per shard per minute', num(sessions.perShardPerMinute, 1)],
        ['Redis commands per dispatch', num([...sessions.commands.values()].reduce((a, b) => a + b, 0) / sessions.dispatches, 4)],
        ['commands seen', [...sessions.commands].map(([name, calls]) => `${name} ${num(calls)}`).join(', ')],
      ],
    ),
  );
} finally {
  redis.disconnect();
  watcher.disconnect();
  await server.stop();
}
