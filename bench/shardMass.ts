import { shardContenderNames, type ShardContenderName } from './contenders/index.ts';
import type { GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type Per } from './lib/report.ts';
import { median } from './lib/stats.ts';
import { markdownTable, ms } from './lib/table.ts';
import { killAll, type MassKillSample } from './massFailure.ts';
import { lifelineStableMs } from './recovery.ts';
import { fleetShards } from './shardMemory.ts';

/**
 * Shard fleet 3. Mass kill: 1,000 shards in one client process, the gateway destroys every socket
 * at once; per shard the time from the kill to RESUMED, how many shards IDENTIFYd instead, the most
 * sockets any shard had live at once (counted in the client from creation to `close`) and the most
 * the gateway saw open at once.
 */

const rounds = 1;

export async function runShardMass(gateway: GatewayProcess): Promise<Comparison> {
  const samples = Object.fromEntries(shardContenderNames.map((name) => [name, [] as MassKillSample[]])) as Per<
    ShardContenderName,
    MassKillSample[]
  >;
  for (let round = 0; round < rounds; round++) {
    for (const name of rotated(shardContenderNames, round)) {
      progress(`shard mass kill: round ${round + 1}/${rounds}, ${name}`);
      samples[name].push(await killAll(gateway, name, { count: fleetShards, sharded: true }));
    }
  }
  const of = (name: ShardContenderName, pick: (s: MassKillSample) => number) => median(samples[name].map(pick));
  const worst = (name: ShardContenderName, pick: (s: MassKillSample) => number) => Math.max(...samples[name].map(pick));
  const fewest = (name: ShardContenderName, pick: (s: MassKillSample) => number) => Math.min(...samples[name].map(pick));
  const table = markdownTable(
    [
      'contender',
      'p50',
      'p99',
      'all RESUMED (max)',
      'resumed (fewest)',
      'IDENTIFY instead (most)',
      'most sockets / shard',
      'most open at the gateway',
    ],
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
