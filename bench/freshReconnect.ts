import { contenderNames, type ContenderName } from './contenders/index.ts';
import type { ClientProcess, GatewayProcess } from './lib/processes.ts';
import { progress, type Comparison, type PerContender } from './lib/report.ts';
import { median, ratio } from './lib/stats.ts';
import { markdownTable, ms, times } from './lib/table.ts';

/**
 * 3. Forced fresh reconnect while the old socket never completes its close handshake (chaos
 * `neverCloseHandshake(true)`: the gateway swallows the client's close frame and never ends the
 * TCP connection). Time from the request to READY on the new session, with default timeouts and
 * with a short drain timeout. Raw ws does what lifeline does by hand: close, wait for `close` up to
 * the drain timeout, terminate, IDENTIFY on a new socket.
 */

const shortDrainMs = 100;
const lifelineDefaultDrainMs = 5_000;

interface Scenario {
  label: string;
  /** drain timeout given to raw ws and lifeline; undefined: lifeline's default, and the same for raw ws */
  drainMs: number | undefined;
  rounds: PerContender<number>;
}

const scenarios: Scenario[] = [
  // @discordjs/ws has no drain timeout: it waits for ws's 30 s closeTimeout, so it runs once.
  { label: 'default timeouts', drainMs: undefined, rounds: { 'raw ws': 2, lifeline: 2, '@discordjs/ws': 1 } },
  { label: `drain ${shortDrainMs} ms`, drainMs: shortDrainMs, rounds: { 'raw ws': 3, lifeline: 3, '@discordjs/ws': 0 } },
];

interface Outcome {
  readyMs: number | null;
  maxSockets: number;
}

async function forceFreshOnce(
  gateway: GatewayProcess,
  client: ClientProcess,
  name: ContenderName,
  drainMs: number | undefined,
): Promise<Outcome> {
  const { url } = await gateway.call('start', {});
  const rawDrain = name === 'raw ws' ? (drainMs ?? lifelineDefaultDrainMs) : drainMs;
  await client.call('open', { url, count: 1, ...(rawDrain === undefined ? {} : { drainMs: rawDrain }) });
  try {
    await gateway.call('neverCloseHandshake', true);
    await client.call('armRecovery');
    const { at } = await client.call('forceFresh', { connection: 0 });
    const recovery = await client.call('awaitRecovery', { timeoutMs: 45_000 });
    const readyAt = recovery.at[0];
    return {
      readyMs: readyAt != null && recovery.identified === 1 ? readyAt - at : null,
      maxSockets: recovery.maxSocketsPerConnection,
    };
  } finally {
    await gateway.call('neverCloseHandshake', false);
    await client.call('close');
  }
}

export async function runFreshReconnect(gateway: GatewayProcess, clients: PerContender<ClientProcess>): Promise<Comparison> {
  const rows: (string | number)[][] = [];
  let lifelineShortRatio = Number.NaN;
  let lifelineMaxSockets = 0;
  for (const scenario of scenarios) {
    const results = Object.fromEntries(contenderNames.map((name) => [name, [] as Outcome[]])) as PerContender<Outcome[]>;
    const mostRounds = Math.max(...Object.values(scenario.rounds));
    for (let round = 0; round < mostRounds; round++) {
      const order = round % 2 === 0 ? contenderNames : [...contenderNames].reverse();
      for (const name of order) {
        if (round >= scenario.rounds[name]) continue;
        progress(`fresh reconnect (${scenario.label}): round ${round + 1}, ${name}`);
        results[name].push(await forceFreshOnce(gateway, clients[name], name, scenario.drainMs));
      }
    }
    const readyMs = (name: ContenderName) => {
      const values = results[name].map((r) => r.readyMs);
      return values.length && values.every((v) => v !== null) ? median(values) : Number.NaN;
    };
    const baseline = readyMs('raw ws');
    for (const name of contenderNames) {
      const outcomes = results[name];
      const sockets = outcomes.length ? Math.max(...outcomes.map((o) => o.maxSockets)) : Number.NaN;
      if (name === 'lifeline') lifelineMaxSockets = Math.max(lifelineMaxSockets, sockets);
      rows.push([
        scenario.label,
        name,
        outcomes.length === 0 ? 'n/a (no drain timeout option)' : ms(readyMs(name)),
        outcomes.length === 0 ? '–' : times(ratio(readyMs(name), baseline)),
        outcomes.length === 0 ? '–' : String(sockets),
        outcomes.length,
      ]);
    }
    if (scenario.drainMs !== undefined) lifelineShortRatio = ratio(readyMs('lifeline'), baseline);
  }
  return {
    title: 'Forced fresh reconnect, old socket never finishes its close handshake',
    method:
      'Reconnect with a new IDENTIFY requested while the gateway swallows close frames; time from the request to READY. ' +
      `Default timeouts: lifeline drains for 5 s then terminates (raw ws does the same by hand); @discordjs/ws waits for ws's own 30 s close timeout, then 500 ms. ` +
      `Short: drain ${shortDrainMs} ms.`,
    table: markdownTable(['timeouts', 'contender', 'request → READY (median)', 'vs raw ws', 'most sockets at once', 'runs'], rows),
    notes: [],
    targets: [
      {
        target: 'forced fresh: never a second socket beside the stuck one',
        measured: `${lifelineMaxSockets} socket(s) at once; short drain ${times(lifelineShortRatio)} raw ws`,
        met: lifelineMaxSockets === 1,
      },
    ],
  };
}
