/**
 * Time to all READY for a fleet in one process against the minimum Discord's buckets allow, with
 * the chaos gateway enforcing the buckets in the same process (`npm run bench:fleet-start`; not
 * part of `npm run bench`). The minimum is (ceil(shards / max_concurrency) − 1) windows: the first
 * shard of each bucket starts at once, each next one a window later.
 */
import { createShardManager } from '../src/fleet/createShardManager.ts';
import { startChaosGateway } from '../src/testing/index.ts';
import { markdownTable } from './lib/table.ts';

const token = 'bench-token-not-a-secret';
const cases = [
  { shards: 64, maxConcurrency: 4, windowMs: 1_000 },
  { shards: 64, maxConcurrency: 16, windowMs: 1_000 },
  { shards: 256, maxConcurrency: 16, windowMs: 1_000 },
];

const rows: string[][] = [];
for (const { shards, maxConcurrency, windowMs } of cases) {
  const server = await startChaosGateway({ heartbeatInterval: 41_250, token, fleet: { maxConcurrency, identifyWindowMs: windowMs } });
  const fleet = createShardManager({
    token,
    intents: 513,
    shardCount: shards,
    url: server.url,
    identifyWindowMs: windowMs,
    gatewayInfo: () =>
      Promise.resolve({ url: server.url, shards, session_start_limit: { ...server.sessionStartLimit(), max_concurrency: maxConcurrency } }),
  });
  const startedAt = performance.now();
  await fleet.start();
  const elapsed = performance.now() - startedAt;
  const minimum = (Math.ceil(shards / maxConcurrency) - 1) * windowMs;
  rows.push([
    String(shards),
    String(maxConcurrency),
    `${windowMs} ms`,
    `${Math.round(elapsed).toLocaleString('en-US')} ms`,
    `${minimum.toLocaleString('en-US')} ms`,
    `${(elapsed / minimum).toFixed(3)}×`,
    String(server.violations.length),
  ]);
  await fleet.stop();
  await server.close();
  console.error(`fleet start: ${shards} shards, max_concurrency ${maxConcurrency} done`);
}
console.log(markdownTable(['shards', 'max_concurrency', 'window', 'all READY after', 'minimum', 'vs minimum', 'violations'], rows));
