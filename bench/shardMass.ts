import { shardContenderNames, type ShardContenderName } from './contenders/index.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type Per } from './lib/report.ts';
import { median, percentile } from './lib/stats.ts';
import { markdownTable, ms } from './lib/table.ts';
import { sleep } from './lib/time.ts';
import { lifelineStableMs } from './recovery.ts';
import { fleetShards } from './shardMemory.ts';

/**
 * Shard fleet 3. Mass kill: 1,000 shards in one client process, the gateway destroys every socket
 * at once; per shard the time from the kill to RESUMED, how many shards IDENTIFYd instead, the most
 * sockets any shard had live at once (counted in the client from creation to `close`) and the most
 * the gateway saw open at once.
 */

const rounds = 1;
const settleMs = 500;

interface Sample {
  p50: number;
  p99: number;
  max: number;
  resumed: number;
  identified: number;
  maxSockets: number;
  serverMaxOpen: number;
}

async function killAll(gateway: GatewayProcess, name: ShardContenderName): Promise<Sample> {
  const client = await startClientProcess(name);
  try {
    const { url } = await gateway.call('start', {});
    await client.call('open', { url, count: fleetShards, sharded: true, stableMs: lifelineStableMs });
    await sleep(settleMs);
    await client.call('armRecovery');
    await gateway.call('resetCounters');
    const { at } = await gateway.call('kill');
    const recovery = await client.call('awaitRecovery', { timeoutMs: 60_000 });
    const counters = await gateway.call('counters');
    await client.call('close');
    const elapsed = recovery.at.map((t) => (t === null ? Number.POSITIVE_INFINITY : t - at));
    return {
      p50: percentile(elapsed, 50),
      p99: percentile(elapsed, 99),
      max: percentile(elapsed, 100),
      resumed: recovery.resumed,
      identified: recovery.identified,
      maxSockets: recovery.maxSocketsPerConnection,
      serverMaxOpen: counters.maxOpen,
    };
  } finally {
    await client.stop();
  }
}

export async function runShardMass(gateway: GatewayProcess): Promise<Comparison> {
  const samples = Object.fromEntries(shardContenderNames.map((name) => [name, [] as Sample[]])) as Per<ShardContenderName, Sample[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of rotated(shardContenderNames, round)) {
      progress(`shard mass kill: round ${round + 1}/${rounds}, ${name}`);
      samples[name].push(await killAll(gateway, name));
    }
  }
  const of = (name: ShardContenderName, pick: (s: Sample) => number) => median(samples[name].map(pick));
  const worst = (name: ShardContenderName, pick: (s: Sample) => number) => Math.max(...samples[name].map(pick));
  const fewest = (name: ShardContenderName, pick: (s: Sample) => number) => Math.min(...samples[name].map(pick));
  const table = markdownTable(
    ['contender', 'p50', 'p99', 'all RESUMED (max)', 'resumed (fewest)', 'IDENTIFY instead (most)', 'most sockets / shard', 'most open at the gateway'],
    shardContenderNames.map((name) => [
      name,
      ms(of(name, (s) => s.p50)),
      ms(of(name, (s) => s.p99)),
      ms(of(name, (s) => s.max)),
      `${fewest(name, (s) => s.resumed)}/${fleetShards}`,
      worst(name, (s) => s.identified),
      worst(name, (s) => s.maxSockets),
      worst(name, (s) => s.serverMaxOpen),
    ]),
  );
  const lifeline = 'lifeline shards';
  return {
    title: `Shard fleet: ${fleetShards.toLocaleString('en-US')} shards killed at once`,
    method:
      `${fleetShards.toLocaleString('en-US')} shards in one client process (lifeline: one \`createShardManager\`), every socket ` +
      `destroyed by the gateway at once; time from the kill to each shard's RESUMED (${rounds === 1 ? 'one round' : `median over ${String(rounds)} rounds of each percentile`}). ` +
      'Sockets per shard are counted in the client from creation to `close` (lifeline shards share one socket factory, so a socket ' +
      'is given to its shard by its IDENTIFY or RESUME). ' +
      `lifeline runs with \`timeouts.stable: ${lifelineStableMs}\`, so every session is stable when the kill comes.`,
    table,
    notes: [],
    targets: [
      {
        target: 'shard fleet mass kill: every shard RESUMEs, none IDENTIFYs',
        measured: `${fewest(lifeline, (s) => s.resumed)}/${fleetShards} resumed in the worst round, ${worst(lifeline, (s) => s.identified)} IDENTIFY`,
        met: samples[lifeline].every((s) => s.resumed === fleetShards && s.identified === 0),
      },
      {
        target: 'shard fleet mass kill: never more than one socket per shard',
        measured: `at most ${worst(lifeline, (s) => s.maxSockets)}; p50 ${ms(of(lifeline, (s) => s.p50))}, max ${ms(of(lifeline, (s) => s.max))}`,
        met: worst(lifeline, (s) => s.maxSockets) <= 1,
      },
    ],
  };
}
