/**
 * `npm run bench:fleet-lifecycle` (not part of `npm run bench`): how long one createShardManager
 * takes to start and to stop 1,000 and 10,000 shards, and the longest the event loop was held
 * meanwhile; a block that long is a delay every running shard's heartbeat and socket reads wait
 * out. Each fleet runs in a process of its own (JavaScript compiled by tsc, as in `npm run bench`).
 * Every shard is its own bucket and the identify queue has no window, so the times are the
 * manager's and the shards', not Discord's pacing.
 *
 * Real sockets: `ws` to the chaos gateway in a process of its own. In-process sockets: real shards
 * and gateways, each on a WebSocketLike that plays HELLO, READY, RESUMED and heartbeat ACKs in the
 * same process; 10,000 real sockets beside a gateway on the same two cores would measure the
 * loopback network instead. The manager alone: its statechart with a fake shard pool, what the
 * manager itself costs. `BENCH_FLEET_SHARDS=1000,10000` picks the sizes (real sockets: 1,000 only),
 * `BENCH_FLEET_MODES=manager,in-process,real` what runs.
 */
import type { GatewayApi } from './gatewayProcess.ts';
import type { LifecycleApi, LifecycleMode, Timing } from './fleetLifecycleProcess.ts';
import { buildChildren, builtPath } from './lib/build.ts';
import { Child } from './lib/ipc.ts';
import { describeMachine, loadAverage, sourceRevision } from './lib/machine.ts';
import { progress } from './lib/report.ts';
import { markdownTable, ms, num } from './lib/table.ts';

const gatewayEntry = 'bench/gatewayProcess.ts';
const fleetEntry = 'bench/fleetLifecycleProcess.ts';
const sizes = (process.env.BENCH_FLEET_SHARDS ?? '1000,10000').split(',').map(Number);
const modes = (process.env.BENCH_FLEET_MODES ?? 'manager,in-process,real').split(',') as LifecycleMode[];
const realSocketShards = 1000;

interface Row {
  mode: LifecycleMode;
  shards: number;
  start: Timing;
  stop: Timing;
}

const described: Record<LifecycleMode, string> = {
  manager: 'manager alone (fake shards)',
  'in-process': 'shards, in-process sockets',
  real: 'shards, real sockets',
};

async function measure(mode: LifecycleMode, shards: number, url?: string): Promise<Row> {
  const fleet = await Child.start<LifecycleApi>(builtPath(fleetEntry), `fleet of ${shards}`, { nodeFlags: ['--expose-gc'] });
  try {
    const start = await fleet.call('start', { mode, shards, ...(url ? { url } : {}) });
    const stop = await fleet.call('stop');
    progress(`${described[mode]}, ${shards} shards: start ${ms(start.ms)}, stop ${ms(stop.ms)}`);
    return { mode, shards, start, stop };
  } finally {
    await fleet.stop();
  }
}

const loadBefore = loadAverage();
buildChildren([gatewayEntry, fleetEntry]);
const rows: Row[] = [];
for (const mode of (['manager', 'in-process'] as const).filter((name) => modes.includes(name))) {
  for (const shards of sizes) rows.push(await measure(mode, shards));
}
if (modes.includes('real') && sizes.includes(realSocketShards)) {
  const gateway = await Child.start<GatewayApi>(builtPath(gatewayEntry), 'gateway');
  try {
    const { url } = await gateway.call('start', {});
    rows.push(await measure('real', realSocketShards, url));
  } finally {
    await gateway.call('stop').catch(() => {});
    await gateway.stop();
  }
}

const block = (timing: Timing) => ms(timing.longestBlockMs);
const gcShare = (timing: Timing) => `${num((100 * timing.gcMs) / timing.ms)}%`;
const perShard = (cpuMs: number, shards: number) => `${num((cpuMs * 1000) / shards)} µs`;
console.log(
  `Measured at ${sourceRevision() ?? 'an unknown revision'} on ${describeMachine()}; 1-minute load average ${loadBefore} before, ${loadAverage()} after.\n`,
);
console.log(
  markdownTable(
    [
      'what runs',
      'shards',
      'start() → all READY',
      'CPU / shard',
      'longest block',
      'GC',
      'heap',
      'stop()',
      'CPU / shard',
      'longest block',
      'GC',
    ],
    rows.map(({ mode, shards, start, stop }) => [
      described[mode],
      num(shards),
      ms(start.ms),
      perShard(start.cpuMs, shards),
      block(start),
      gcShare(start),
      `${num(start.heapMiB)} MiB`,
      ms(stop.ms),
      perShard(stop.cpuMs, shards),
      block(stop),
      gcShare(stop),
    ]),
  ),
);
