import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyContenderName } from './contenders/index.ts';
import { heapGrowth, summariseHeapSnapshot, type HeapGroup } from './lib/heapSnapshot.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, type Comparison } from './lib/report.ts';
import { markdownTable, num } from './lib/table.ts';
import { sleep } from './lib/time.ts';
import { fleetShards } from './shardMemory.ts';

/**
 * Where a shard's heap goes. As in the memory comparison, a one-shard fleet is opened and closed
 * first, then a heap snapshot is written (after full GCs); then 1,000 idle shards, and a second
 * snapshot. Both are summed by constructor (lib/heapSnapshot.ts) and the difference is divided by
 * the shard count. lifeline shards (one createShardManager) beside lifeline (N createGateway),
 * so the manager's own share shows.
 */

const contenders = ['lifeline shards', 'lifeline'] as const satisfies readonly AnyContenderName[];
const rows = 18;
const idleMs = 500;

async function breakdown(gateway: GatewayProcess, name: AnyContenderName): Promise<HeapGroup[]> {
  const client = await startClientProcess(name);
  const paths = [0, 1].map((i) => join(tmpdir(), `lifeline-bench-heap-${process.pid}-${i}.heapsnapshot`));
  try {
    const { url } = await gateway.call('start', {});
    await client.call('open', { url, count: 1, sharded: true });
    await client.call('close');
    await client.call('heapSnapshot', { path: paths[0]! });
    await client.call('open', { url, count: fleetShards, sharded: true });
    await sleep(idleMs);
    await client.call('heapSnapshot', { path: paths[1]! });
    await client.call('close');
    return heapGrowth(summariseHeapSnapshot(paths[0]!), summariseHeapSnapshot(paths[1]!), fleetShards);
  } finally {
    await client.stop();
    for (const path of paths) rmSync(path, { force: true });
  }
}

export async function runShardHeap(gateway: GatewayProcess): Promise<Comparison> {
  const results = new Map<AnyContenderName, HeapGroup[]>();
  for (const name of contenders) {
    progress(`shard heap: snapshots of ${name}`);
    results.set(name, await breakdown(gateway, name));
  }
  const shards = results.get('lifeline shards')!;
  const single = new Map(results.get('lifeline')!.map((group) => [group.key, group]));
  const total = (groups: HeapGroup[]) => groups.reduce((sum, group) => sum + group.bytes, 0);
  const shardsTotal = total(shards);
  const singleTotal = total(results.get('lifeline')!);
  const table = markdownTable(
    ['constructor / kind', 'lifeline shards: objects / shard', 'bytes / shard', 'share', 'N createGateway: objects / connection', 'bytes / connection'],
    [
      ...shards.slice(0, rows).map((group) => [
        group.key,
        num(group.count, 1),
        num(group.bytes),
        `${((group.bytes / shardsTotal) * 100).toFixed(1)}%`,
        num(single.get(group.key)?.count ?? 0, 1),
        num(single.get(group.key)?.bytes ?? 0),
      ]),
      ['(all)', num(shards.reduce((sum, group) => sum + group.count, 0), 1), num(shardsTotal), '100%', num(results.get('lifeline')!.reduce((sum, group) => sum + group.count, 0), 1), num(singleTotal)],
    ],
  );
  return {
    title: `Shard fleet: where a shard's heap goes (${fleetShards.toLocaleString('en-US')} idle shards)`,
    method:
      'Heap snapshots (`v8.writeHeapSnapshot`, after full GCs) of the client process with a one-shard fleet opened and closed, then with ' +
      `${fleetShards.toLocaleString('en-US')} idle shards; nodes summed by constructor (closures by function name, V8's own structures in parentheses), ` +
      'the difference divided by the shard count (bench/lib/heapSnapshot.ts). lifeline shards is one `createShardManager`; ' +
      'N createGateway is the same number of independent gateways, each IDENTIFYing as a shard. Self sizes only, so the sum is ' +
      'a little above `heapUsed` growth (the snapshot counts some of V8\'s own space).',
    table,
    notes: [],
    targets: [],
  };
}
