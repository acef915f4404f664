import { createShardManager } from '../../../src/fleet/createShardManager.ts';
import { fileSessionStore } from '../../../src/fleet/fileSessionStore.ts';
import { memoryIdentifyQueue } from '../../../src/fleet/memoryIdentifyQueue.ts';

/**
 * A fleet in a process of its own, for restart tests: argv is the gateway URL, the session file and
 * the shard count. It prints one JSON line per event it delivers, `{ ready }` once every shard is
 * ready, and stops with its sessions kept when it reads SIGTERM.
 */
const [url, path, count] = process.argv.slice(2);
const shardCount = Number(count);
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const queue = memoryIdentifyQueue({ maxConcurrency: 4, windowMs: 60, budget: { remaining: 1000, resetAfterMs: 86_400_000 } });
const fleet = createShardManager({
  token: 'fleet-token-7c21',
  intents: 513,
  shardCount,
  url: url!,
  identifyQueue: queue,
  sessionStore: fileSessionStore(path!),
  sessionWriteIntervalMs: 200,
  timeouts: { connect: 500, hello: 1_000, ready: 1_000, drain: 80, terminateGrace: 40 },
  backoff: { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 },
});
fleet.on('dispatch', (payload, shardId) => print({ shardId, s: payload.s }));
fleet.on('state', (change, shardId) => {
  if (change.state === 'ready') print({ shardId, ready: change.handshake, sessionId: fleet.session(shardId)?.sessionId });
});
fleet.on('error', (error, shardId) => print({ shardId, error: error.message }));
process.on('SIGTERM', () => {
  void fleet.stop({ keepSessions: true }).then(() => {
    queue.close();
    print({ stopped: true });
    process.exit(0);
  });
});
await fleet.start();
print({ ready: true });
