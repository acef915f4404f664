import { childFleetTiming, reportFleet, stopOnSigterm } from './fleetLines.ts';
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

const queue = memoryIdentifyQueue({ maxConcurrency: 4, windowMs: 120, budget: { remaining: 1000, resetAfterMs: 86_400_000 } });
const fleet = createShardManager({
  token: 'fleet-token-7c21',
  intents: 513,
  shardCount,
  url: url!,
  identifyQueue: queue,
  sessionStore: fileSessionStore(path!),
  ...childFleetTiming,
});
stopOnSigterm(fleet, () => queue.close());
await reportFleet(fleet);
