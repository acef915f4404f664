import { contenderNames, type ContenderName } from './contenders/index.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type PerContender } from './lib/report.ts';
import { median, ratio } from './lib/stats.ts';
import { bytes, markdownTable, num, times } from './lib/table.ts';
import { closeWithHeapGrowth, type HeapGroup } from './lib/heapSnapshot.ts';
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
  /** heap growth per connection by constructor (lifeline only) */
  groups: HeapGroup[] | null;
}

const breakdownRows = 20;

/** The groups a snapshot can name as ws's (and net's) or XState's; the rest is shared. */
function partOf(key: string): 'ws' | 'xstate' | 'engine' {
  if (
    /^(Socket|Receiver|WebSocket|WritableState|ReadableState|Sender|TCP|Timeout|TimersList|closure (onSocket|socketOn|receiverOn))/.test(
      key,
    )
  )
    return 'ws';
  if (/^(Actor|Mailbox|closure (send|cancel|schedule|defer|stopChild|actionExecutor|inspect|start|value|emit))$/.test(key)) return 'xstate';
  return 'engine';
}

function breakdownTable(groups: HeapGroup[]): string {
  const total = groups.reduce((sum, group) => sum + group.bytes, 0);
  return markdownTable(
    ['constructor / kind', 'objects / connection', 'bytes / connection', 'share'],
    [
      ...groups
        .slice(0, breakdownRows)
        .map((group) => [group.key, num(group.count, 1), num(group.bytes), `${((group.bytes / total) * 100).toFixed(1)}%`]),
      [
        '(all)',
        num(
          groups.reduce((sum, group) => sum + group.count, 0),
          1,
        ),
        num(total),
        '100%',
      ],
    ],
  );
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
    // lifeline's heap snapshots come after the readings: what remains per connection, and why.
    const groups = name === 'lifeline' ? await closeWithHeapGrowth(client, idleConnections) : (await client.call('close'), null);
    return {
      heap: (after.heapUsed - before.heapUsed) / idleConnections,
      rss: (after.rss - before.rss) / idleConnections,
      groups,
    };
  } finally {
    await client.stop();
  }
}

/** Where an idle lifeline connection's heap goes: the last round's snapshots, largest groups first. */
function breakdownNotes(groups: HeapGroup[] | null, heap: (name: ContenderName) => number): string[] {
  if (!groups) return [];
  const named = (part: ReturnType<typeof partOf>) =>
    groups.filter((group) => partOf(group.key) === part).reduce((sum, group) => sum + group.bytes, 0);
  const total = groups.reduce((sum, group) => sum + group.bytes, 0);
  return [
    "**Where an idle lifeline connection's heap goes.** Heap snapshots (`v8.writeHeapSnapshot`, after full GCs) of the last " +
      `round's lifeline process with the ${idleConnections.toLocaleString('en-US')} connections open and again once they are closed, nodes summed by ` +
      "constructor (closures by function name, V8's own structures in parentheses), the difference per connection (bench/lib/heapSnapshot.ts). " +
      `The largest ${breakdownRows} groups:`,
    breakdownTable(groups),
    `Of ${num(total)} bytes per connection, the objects named after \`ws\` and \`net\` (Socket, Receiver, WebSocket, their states, ` +
      `timers) come to ${num(named('ws'))} and XState's own (each actor's \`Actor\`, mailbox and bound methods) to ${num(named('xstate'))}; ` +
      'the plain objects, arrays and closure contexts above them are shared between the socket, the two actors (the gateway ' +
      'statechart and the socket actor, which keeps the heartbeat), their snapshots and contexts, and the createGateway wrapper. ' +
      `Above a bare ws client, lifeline adds ${bytes(heap('lifeline') - heap('raw ws'))} per connection and @discordjs/ws ` +
      `${bytes(heap('@discordjs/ws') - heap('raw ws'))}.`,
  ];
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
    notes: breakdownNotes(samples.lifeline.at(-1)?.groups ?? null, heap),
    targets: [
      {
        target: 'memory per idle connection ≤ @discordjs/ws',
        measured: `heap ${bytes(heap('lifeline'))} vs ${bytes(heap('@discordjs/ws'))} (${times(ratio(heap('lifeline'), heap('@discordjs/ws')))}); RSS ${bytes(rss('lifeline'))} vs ${bytes(rss('@discordjs/ws'))}`,
        met: heap('lifeline') <= heap('@discordjs/ws') && rss('lifeline') <= rss('@discordjs/ws'),
      },
    ],
  };
}
