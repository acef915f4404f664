import { contenderNames, type ContenderName } from './contenders/index.ts';
import type { AnyContenderName } from './contenders/index.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type PerContender } from './lib/report.ts';
import { median, percentile } from './lib/stats.ts';
import { markdownTable, ms } from './lib/table.ts';
import { sleep } from './lib/time.ts';
import { lifelineStableMs } from './recovery.ts';

/**
 * 5. Mass failure. 1,000 connections in one client process; the gateway kills every socket at
 * once; per connection the time from the kill to RESUMED. Also the most sockets any connection
 * had live at once (counted in the client at socket creation and close) and the most the
 * gateway saw open at once.
 */

export const fleetSize = 1_000;
const rounds = 2;
const settleMs = 500;

export interface MassKillSample {
  p50: number;
  p99: number;
  max: number;
  resumed: number;
  identified: number;
  maxSockets: number;
  serverMaxOpen: number;
}

/**
 * One round: `count` connections (or shards) open in a client process of their own, settle, and
 * are all killed at once by the gateway; the time from the kill to each one's RESUMED.
 */
export async function killAll(
  gateway: GatewayProcess,
  name: AnyContenderName,
  open: { count: number; sharded?: boolean } = { count: fleetSize },
): Promise<MassKillSample> {
  const client = await startClientProcess(name);
  try {
    const { url } = await gateway.call('start', {});
    await client.call('open', { url, ...open, stableMs: lifelineStableMs });
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

export async function runMassFailure(gateway: GatewayProcess): Promise<Comparison> {
  const samples = Object.fromEntries(contenderNames.map((name) => [name, [] as MassKillSample[]])) as PerContender<MassKillSample[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of rotated(contenderNames, round)) {
      progress(`mass failure: round ${round + 1}/${rounds}, ${name}`);
      samples[name].push(await killAll(gateway, name));
    }
  }
  const of = (name: ContenderName, pick: (s: MassKillSample) => number) => median(samples[name].map(pick));
  const worst = (name: ContenderName, pick: (s: MassKillSample) => number) => Math.max(...samples[name].map(pick));
  const fewest = (name: ContenderName, pick: (s: MassKillSample) => number) => Math.min(...samples[name].map(pick));
  const table = markdownTable(
    ['contender', 'p50', 'p99', 'all RESUMED (max)', 'resumed (fewest)', 'most sockets / connection', 'most open at the gateway'],
    contenderNames.map((name) => [
      name,
      ms(of(name, (s) => s.p50)),
      ms(of(name, (s) => s.p99)),
      ms(of(name, (s) => s.max)),
      `${fewest(name, (s) => s.resumed)}/${fleetSize}`,
      worst(name, (s) => s.maxSockets),
      worst(name, (s) => s.serverMaxOpen),
    ]),
  );
  const allResumed = samples.lifeline.every((s) => s.resumed === fleetSize);
  const oneSocket = worst('lifeline', (s) => s.maxSockets) <= 1;
  return {
    title: `Mass failure: ${fleetSize.toLocaleString('en-US')} connections killed at once`,
    method:
      `${fleetSize.toLocaleString('en-US')} connections in one client process, every socket destroyed by the gateway at once; ` +
      `time from the kill to each connection's RESUMED (median over ${rounds} rounds of each percentile). ` +
      'Sockets per connection are counted in the client from creation to `close`. ' +
      `lifeline runs with \`timeouts.stable: ${lifelineStableMs}\`, so every session is stable when the kill comes.`,
    table,
    notes: [],
    targets: [
      {
        target: 'mass failure: every connection resumed',
        measured: `${fewest('lifeline', (s) => s.resumed)}/${fleetSize} in the worst round`,
        met: allResumed,
      },
      {
        target: 'mass failure: never more than one socket per connection',
        measured: `at most ${worst('lifeline', (s) => s.maxSockets)}`,
        met: oneSocket,
      },
    ],
  };
}
