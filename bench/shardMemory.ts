import type { AnyContenderName } from './contenders/index.ts';
import { closeWithHeapGrowth, type HeapGroup } from './lib/heapSnapshot.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, type Comparison } from './lib/report.ts';
import { ratio } from './lib/stats.ts';
import { bytes, markdownTable, num, times } from './lib/table.ts';
import { sleep } from './lib/time.ts';

/**
 * Shard fleet 1. Memory per idle shard: 1,000 shards in one process, lifeline as one
 * `createShardManager` fleet, @discordjs/ws as one WebSocketManager, and lifeline as N independent
 * createGateway (each IDENTIFYing as a shard) to show what the manager adds to the engine. Each
 * contender in a new process with --expose-gc: a one-shard fleet is opened and closed first
 * (lazily loaded code and caches go into the baseline), then the 1,000 shards are opened and left
 * idle; heap used and RSS after full GCs, minus the baseline, per shard.
 *
 * For the two lifeline contenders V8 heap snapshots are also written, after the memory readings:
 * one with the 1,000 shards open, one after they are closed again (the baseline), summed by
 * constructor (lib/heapSnapshot.ts): where a shard's heap goes.
 */

export const fleetShards = 1_000;
/**
 * Every shard is its own identify bucket here (max_concurrency = shard count, as for the other
 * contenders), so the queue's window delays nothing; a short one lets the queue's per-bucket
 * cooling timers (one per IDENTIFY, for 1.05 windows) end before memory is read, which is the
 * idle state. With the default 5 s window they would still be pending 500 ms after the start.
 */
export const idleQueueWindowMs = 100;
const contenders = ['lifeline shards', 'lifeline', '@discordjs/ws'] as const satisfies readonly AnyContenderName[];
type Name = (typeof contenders)[number];
const label = (name: Name) => (name === 'lifeline' ? 'lifeline (N createGateway)' : name);
const snapshotted: readonly Name[] = ['lifeline shards', 'lifeline'];
const idleMs = 500;
const breakdownRows = 16;

interface Sample {
  heap: number;
  rss: number;
  /** heap growth per shard by constructor, for the snapshotted contenders */
  groups: HeapGroup[] | null;
}

async function measure(gateway: GatewayProcess, name: Name): Promise<Sample> {
  const client = await startClientProcess(name);
  try {
    const { url } = await gateway.call('start', {});
    const options = { url, sharded: true, identifyWindowMs: idleQueueWindowMs };
    await client.call('open', { ...options, count: 1 });
    await client.call('close');
    const before = await client.call('memory');
    if (!before.gc) throw new Error('the client process has no gc(); it needs --expose-gc');
    await client.call('open', { ...options, count: fleetShards });
    await sleep(idleMs);
    const after = await client.call('memory');
    // Snapshots come after both readings: the fleet's, then the same process once it is closed.
    const groups = snapshotted.includes(name) ? await closeWithHeapGrowth(client, fleetShards) : (await client.call('close'), null);
    return {
      heap: (after.heapUsed - before.heapUsed) / fleetShards,
      rss: (after.rss - before.rss) / fleetShards,
      groups,
    };
  } finally {
    await client.stop();
  }
}

function breakdownTable(shards: HeapGroup[], single: HeapGroup[]): string {
  const byKey = new Map(single.map((group) => [group.key, group]));
  const sum = (groups: HeapGroup[], pick: (g: HeapGroup) => number) => groups.reduce((total, group) => total + pick(group), 0);
  const shardsTotal = sum(shards, (g) => g.bytes);
  return markdownTable(
    ['constructor / kind', 'objects / shard', 'bytes / shard', 'share', 'N createGateway: objects', 'bytes', 'added by the manager'],
    [
      ...shards.slice(0, breakdownRows).map((group) => {
        const base = byKey.get(group.key);
        return [
          group.key,
          num(group.count, 1),
          num(group.bytes),
          `${((group.bytes / shardsTotal) * 100).toFixed(1)}%`,
          num(base?.count ?? 0, 1),
          num(base?.bytes ?? 0),
          num(group.bytes - (base?.bytes ?? 0)),
        ];
      }),
      [
        '(all)',
        num(
          sum(shards, (g) => g.count),
          1,
        ),
        num(shardsTotal),
        '100%',
        num(
          sum(single, (g) => g.count),
          1,
        ),
        num(sum(single, (g) => g.bytes)),
        num(shardsTotal - sum(single, (g) => g.bytes)),
      ],
    ],
  );
}

const sumBytes = (groups: HeapGroup[]) => groups.reduce((total, group) => total + group.bytes, 0);

export async function runShardMemory(gateway: GatewayProcess): Promise<Comparison> {
  const samples = {} as Record<Name, Sample>;
  for (const name of contenders) {
    progress(`shard memory: ${label(name)}`);
    samples[name] = await measure(gateway, name);
  }
  const heap = (name: Name) => samples[name].heap;
  const rss = (name: Name) => samples[name].rss;
  const table = markdownTable(
    ['contender', 'heap / shard', 'RSS / shard', 'heap vs @discordjs/ws', 'RSS vs @discordjs/ws'],
    contenders.map((name) => [
      label(name),
      bytes(heap(name)),
      bytes(rss(name)),
      times(ratio(heap(name), heap('@discordjs/ws'))),
      times(ratio(rss(name), rss('@discordjs/ws'))),
    ]),
  );
  const lifeline = 'lifeline shards';
  const shardsGroups = samples[lifeline].groups!;
  const singleGroups = samples.lifeline.groups!;
  return {
    title: `Shard fleet: memory per idle shard (${fleetShards.toLocaleString('en-US')} shards in one process)`,
    method:
      `Each contender in its own process; heap used and RSS after full GCs with ${fleetShards.toLocaleString('en-US')} idle shards, ` +
      'minus the same process with a one-shard fleet opened and closed, per shard; one round (these figures move by a few percent between runs). ' +
      'lifeline shards: one `createShardManager` (default identify queue and in-memory session store; every shard its own bucket, ' +
      `\`identifyWindowMs: ${idleQueueWindowMs}\` so the queue's per-bucket cooling timers have ended when memory is read); ` +
      'lifeline (N createGateway): 1,000 independent gateways, each IDENTIFYing as a shard; @discordjs/ws: one WebSocketManager.',
    table,
    notes: [
      `**Where a shard's heap goes.** Heap snapshots (\`v8.writeHeapSnapshot\`, after full GCs) of the same two lifeline processes, ` +
        `taken after the readings above: with the ${fleetShards.toLocaleString('en-US')} shards open, and again once they are closed; nodes summed by constructor (closures by function name, V8's own structures in parentheses), the difference divided by ` +
        `${fleetShards.toLocaleString('en-US')} (bench/lib/heapSnapshot.ts). Self sizes, so the total is a little above the growth of ` +
        `\`heapUsed\`. The largest ${breakdownRows} groups of lifeline shards, beside the same groups for N createGateway:`,
      breakdownTable(shardsGroups, singleGroups),
      `N independent gateways already hold ${bytes(sumBytes(singleGroups))} per connection in the snapshot ` +
        `(${bytes(heap('lifeline'))} of \`heapUsed\`), more than @discordjs/ws's whole ${bytes(heap('@discordjs/ws'))} per shard: ` +
        "the engine's per-connection footprint is most of a shard, and the shard manager cannot bring it under the target by itself. " +
        `The manager adds ${bytes(sumBytes(shardsGroups) - sumBytes(singleGroups))} per shard: one more XState actor (the shard actor), ` +
        "about ten plain objects and a few closure contexts (the shard's view in the manager's context, its session recorder, its " +
        'IDENTIFY fields with `shard`), and about two object shapes (DescriptorArray and Map) per shard.',
    ],
    targets: [
      {
        target: 'shard fleet: heap and RSS per idle shard ≤ @discordjs/ws',
        measured:
          `heap ${bytes(heap(lifeline))} vs ${bytes(heap('@discordjs/ws'))} (${times(ratio(heap(lifeline), heap('@discordjs/ws')))}); ` +
          `RSS ${bytes(rss(lifeline))} vs ${bytes(rss('@discordjs/ws'))} (${times(ratio(rss(lifeline), rss('@discordjs/ws')))}); ` +
          `N createGateway: heap ${bytes(heap('lifeline'))}`,
        met: heap(lifeline) <= heap('@discordjs/ws') && rss(lifeline) <= rss('@discordjs/ws'),
      },
    ],
  };
}
