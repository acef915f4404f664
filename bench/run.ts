import { writeFile } from 'node:fs/promises';
import { runCompression } from './compression.ts';
import { contenderNames } from './contenders/index.ts';
import { runDispatch } from './dispatch.ts';
import { runFreshReconnect } from './freshReconnect.ts';
import { describeMachine, loadAverage, sourceRevision } from './lib/machine.ts';
import { childRuntime, startClientProcess, startGatewayProcess, type ClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, verdict, type Comparison, type PerContender } from './lib/report.ts';
import { markdownTable } from './lib/table.ts';
import { runMassFailure } from './massFailure.ts';
import { runMemory } from './memory.ts';
import { runRecovery } from './recovery.ts';
import { runShardDispatch } from './shardDispatch.ts';
import { runShardMass } from './shardMass.ts';
import { runShardMemory } from './shardMemory.ts';
import { runShardReady } from './shardReady.ts';

/**
 * `npm run bench`: every comparison in turn, contenders alternating within each, the chaos
 * gateway in a process of its own. Prints the report and writes it to BENCHMARKS.md.
 * `npm run bench -- dispatch recovery` runs only the named comparisons and writes nothing.
 */

/** Single-connection comparisons: they share one long-lived client process per contender. */
const sharedClient: { name: string; run: (gateway: GatewayProcess, clients: PerContender<ClientProcess>) => Promise<Comparison> }[] = [
  { name: 'dispatch', run: (gateway, clients) => runDispatch(gateway, clients, 'minimal') },
  { name: 'dispatch-message', run: (gateway, clients) => runDispatch(gateway, clients, 'message') },
  { name: 'recovery', run: runRecovery },
  { name: 'fresh', run: runFreshReconnect },
  { name: 'compression', run: runCompression },
];
/** Fleet comparisons: each measurement starts a client process of its own. */
const ownProcesses: { name: string; run: (gateway: GatewayProcess) => Promise<Comparison> }[] = [
  { name: 'memory', run: runMemory },
  { name: 'mass', run: runMassFailure },
  { name: 'shard-memory', run: runShardMemory },
  { name: 'shard-start', run: runShardReady },
  { name: 'shard-mass', run: runShardMass },
  { name: 'shard-dispatch', run: runShardDispatch },
];
const names = [...sharedClient, ...ownProcesses].map((c) => c.name);

const only = process.argv.slice(2);
const unknown = only.filter((name) => !names.includes(name));
if (unknown.length) {
  console.error(`unknown comparison(s): ${unknown.join(', ')}; known: ${names.join(', ')}`);
  process.exit(2);
}
const chosen = <T extends { name: string }>(list: T[]) => list.filter((c) => only.length === 0 || only.includes(c.name));

const startedAt = performance.now();
const loadBefore = loadAverage();
const revision = sourceRevision();
const gateway = await startGatewayProcess();
const results: Comparison[] = [];
try {
  const shared = chosen(sharedClient);
  if (shared.length) {
    const clients = Object.fromEntries(
      await Promise.all(contenderNames.map(async (name) => [name, await startClientProcess(name)] as const)),
    ) as PerContender<ClientProcess>;
    try {
      for (const comparison of shared) results.push(await comparison.run(gateway, clients));
    } finally {
      await Promise.all(Object.values(clients).map((client) => client.stop()));
    }
  }
  for (const comparison of chosen(ownProcesses)) results.push(await comparison.run(gateway));
} finally {
  await gateway.call('stop').catch(() => {});
  await gateway.stop();
}
const seconds = (performance.now() - startedAt) / 1_000;
progress(`done in ${seconds.toFixed(0)} s`);

const loadAfter = loadAverage();
const date = new Date().toISOString().replace('T', ' ').slice(0, 16);
const targets = results.flatMap((r) => r.targets);
const report = [
  '# Benchmarks',
  '',
  `Run ${date} UTC${revision ? ` at ${revision}` : ''} on ${describeMachine()}; 1-minute load average ${loadBefore} ` +
    `before and ${loadAfter} after the run, which took ${seconds.toFixed(0)} s. Regenerate with \`npm run bench\`.`,
  '',
  `Contenders: **raw ws** (a bare \`ws\` client doing the least the protocol needs: the baseline), **lifeline** ` +
    '(`createGateway`, default options unless stated), **@discordjs/ws** 2.x (`WebSocketManager`, JSON, no compression); ' +
    'in the shard fleet comparisons also **lifeline shards** (`createShardManager`, one fleet of N shards), with every ' +
    'contender IDENTIFYing as shard [i, N]. ' +
    'The chaos gateway runs in its own process; each contender runs in a process of its own, and the contenders ' +
    'alternate within every comparison. Ratios are to raw ws in the same run. ' +
    `Child processes run ${childRuntime()}` +
    (childRuntime().startsWith('JavaScript')
      ? ", as a published build would (tsx's esbuild `keepNames` gives every function its own `name` property, " +
        'which costs a TypeScript contender memory per closure; `BENCH_LOADER=tsx npm run bench` shows it).'
      : '.'),
  '',
  '## Targets',
  '',
  markdownTable(
    ['target', 'measured', ''],
    targets.map((t) => [t.target, t.measured, verdict(t.met)]),
  ),
  '',
  ...results.flatMap((r) => [`## ${r.title}`, '', r.method, '', r.table, '', ...r.notes.flatMap((note) => [note, ''])]),
].join('\n');

console.log(report);
if (only.length === 0) {
  await writeFile(new URL('../BENCHMARKS.md', import.meta.url), report);
  progress('wrote BENCHMARKS.md');
}
