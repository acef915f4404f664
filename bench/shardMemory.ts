import { shardContenderNames, type ShardContenderName } from './contenders/index.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type Per } from './lib/report.ts';
import { median, ratio } from './lib/stats.ts';
import { bytes, markdownTable, times } from './lib/table.ts';
import { sleep } from './lib/time.ts';

/**
 * Shard fleet 1. Memory per idle shard: 1,000 shards in one process, lifeline as one
 * `createShardManager` fleet, @discordjs/ws as one WebSocketManager, raw ws as 1,000 sharded bare
 * sockets for scale. Each contender in a new process with --expose-gc: a one-shard fleet is opened
 * and closed first (lazily loaded code and caches go into the baseline), then the 1,000 shards are
 * opened and left idle; heap used and RSS after full GCs, minus the baseline, per shard.
 */

export const fleetShards = 1_000;
const rounds = 2;
const idleMs = 500;

interface Sample {
  heap: number;
  rss: number;
}

async function measure(gateway: GatewayProcess, name: ShardContenderName): Promise<Sample> {
  const client = await startClientProcess(name);
  try {
    const { url } = await gateway.call('start', {});
    await client.call('open', { url, count: 1, sharded: true });
    await client.call('close');
    const before = await client.call('memory');
    if (!before.gc) throw new Error('the client process has no gc(); it needs --expose-gc');
    await client.call('open', { url, count: fleetShards, sharded: true });
    await sleep(idleMs);
    const after = await client.call('memory');
    await client.call('close');
    return { heap: (after.heapUsed - before.heapUsed) / fleetShards, rss: (after.rss - before.rss) / fleetShards };
  } finally {
    await client.stop();
  }
}

export async function runShardMemory(gateway: GatewayProcess): Promise<Comparison> {
  const samples = Object.fromEntries(shardContenderNames.map((name) => [name, [] as Sample[]])) as Per<ShardContenderName, Sample[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of rotated(shardContenderNames, round)) {
      progress(`shard memory: round ${round + 1}/${rounds}, ${name}`);
      samples[name].push(await measure(gateway, name));
    }
  }
  const heap = (name: ShardContenderName) => median(samples[name].map((s) => s.heap));
  const rss = (name: ShardContenderName) => median(samples[name].map((s) => s.rss));
  const table = markdownTable(
    ['contender', 'heap / shard', 'RSS / shard', 'heap vs @discordjs/ws', 'RSS vs @discordjs/ws'],
    shardContenderNames.map((name) => [
      name,
      bytes(heap(name)),
      bytes(rss(name)),
      times(ratio(heap(name), heap('@discordjs/ws'))),
      times(ratio(rss(name), rss('@discordjs/ws'))),
    ]),
  );
  const lifeline = 'lifeline shards';
  return {
    title: `Shard fleet: memory per idle shard (${fleetShards.toLocaleString('en-US')} shards in one process)`,
    method:
      `Each contender in its own process; heap used and RSS after full GCs with ${fleetShards.toLocaleString('en-US')} idle shards, ` +
      `minus the same process with a one-shard fleet opened and closed, per shard; median of ${rounds} rounds. ` +
      'lifeline shards: one `createShardManager` (default identify queue and in-memory session store); ' +
      '@discordjs/ws: one WebSocketManager; raw ws: bare sockets that IDENTIFY with a shard, for scale.',
    table,
    notes: [],
    targets: [
      {
        target: 'shard fleet: heap and RSS per idle shard ≤ @discordjs/ws',
        measured:
          `heap ${bytes(heap(lifeline))} vs ${bytes(heap('@discordjs/ws'))} (${times(ratio(heap(lifeline), heap('@discordjs/ws')))}); ` +
          `RSS ${bytes(rss(lifeline))} vs ${bytes(rss('@discordjs/ws'))} (${times(ratio(rss(lifeline), rss('@discordjs/ws')))})`,
        met: heap(lifeline) <= heap('@discordjs/ws') && rss(lifeline) <= rss('@discordjs/ws'),
      },
    ],
  };
}
