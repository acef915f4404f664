import { contenderNames, type ContenderName } from './contenders/index.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type PerContender } from './lib/report.ts';
import { median, ratio } from './lib/stats.ts';
import { bytes, markdownTable, times } from './lib/table.ts';
import { sleep } from './lib/time.ts';

/**
 * 4. Memory per idle connection. Each contender runs in a new process with --expose-gc: one
 * connection is opened and closed first (so lazily loaded code and caches are in the baseline),
 * then 1,000 connections are opened and left idle; heap used and RSS after full GCs, minus the
 * baseline, divided by 1,000.
 */

export const idleConnections = 1_000;
const rounds = 2;
const idleMs = 500;

interface Sample {
  heap: number;
  rss: number;
}

async function measure(gateway: GatewayProcess, name: ContenderName): Promise<Sample> {
  const client = await startClientProcess(name);
  try {
    const { url } = await gateway.call('start', {});
    await client.call('open', { url, count: 1 });
    await client.call('close');
    const before = await client.call('memory');
    if (!before.gc) throw new Error('the client process has no gc(); it needs --expose-gc');
    await client.call('open', { url, count: idleConnections });
    await sleep(idleMs);
    const after = await client.call('memory');
    await client.call('close');
    return {
      heap: (after.heapUsed - before.heapUsed) / idleConnections,
      rss: (after.rss - before.rss) / idleConnections,
    };
  } finally {
    await client.stop();
  }
}

export async function runMemory(gateway: GatewayProcess): Promise<Comparison> {
  const samples = Object.fromEntries(contenderNames.map((name) => [name, [] as Sample[]])) as PerContender<Sample[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of rotated(contenderNames, round)) {
      progress(`memory: round ${round + 1}/${rounds}, ${name}`);
      samples[name].push(await measure(gateway, name));
    }
  }
  const heap = (name: ContenderName) => median(samples[name].map((s) => s.heap));
  const rss = (name: ContenderName) => median(samples[name].map((s) => s.rss));
  const table = markdownTable(
    ['contender', 'heap / connection', 'RSS / connection', 'heap vs raw ws', 'heap vs @discordjs/ws'],
    contenderNames.map((name) => [
      name,
      bytes(heap(name)),
      bytes(rss(name)),
      times(ratio(heap(name), heap('raw ws'))),
      times(ratio(heap(name), heap('@discordjs/ws'))),
    ]),
  );
  return {
    title: `Memory per idle connection (${idleConnections.toLocaleString('en-US')} open in one process)`,
    method:
      `Each contender in its own process; heap used and RSS after full GCs with ${idleConnections.toLocaleString('en-US')} idle connections, ` +
      `minus the same process with one connection opened and closed, per connection; median of ${rounds} rounds. ` +
      '@discordjs/ws runs them as 1,000 shards of one WebSocketManager.',
    table,
    notes: [],
    targets: [
      {
        target: 'memory per idle connection ≤ @discordjs/ws',
        measured: `heap ${bytes(heap('lifeline'))} vs ${bytes(heap('@discordjs/ws'))} (${times(ratio(heap('lifeline'), heap('@discordjs/ws')))}); RSS ${bytes(rss('lifeline'))} vs ${bytes(rss('@discordjs/ws'))}`,
        met: heap('lifeline') <= heap('@discordjs/ws') && rss('lifeline') <= rss('@discordjs/ws'),
      },
    ],
  };
}
