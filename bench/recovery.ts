import { contenderNames, type ContenderName } from './contenders/index.ts';
import type { ClientProcess, GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type PerContender } from './lib/report.ts';
import { max, percentile, ratio } from './lib/stats.ts';
import { markdownTable, ms, times } from './lib/table.ts';
import { sleep } from './lib/time.ts';

/**
 * 2. Recovery after a server-side kill. The gateway destroys the client's socket without a close
 * frame (the client sees 1006, the session stays resumable); the time runs from the kill in the
 * gateway process to RESUMED in the client process. Turns of a few kills rotate between the
 * contenders, each turn on a fresh gateway and connection.
 */

export const kills = 20;
const killsPerTurn = 5;
/** lifeline retries at once only for a session that was stable; the kills come after this */
export const lifelineStableMs = 100;
const pauseBeforeKillMs = 150;

async function turn(gateway: GatewayProcess, client: ClientProcess, samples: number[], failures: { count: number }) {
  const { url } = await gateway.call('start', {});
  await client.call('open', { url, count: 1, stableMs: lifelineStableMs });
  try {
    for (let kill = 0; kill < killsPerTurn; kill++) {
      await sleep(pauseBeforeKillMs);
      await client.call('armRecovery');
      const { at } = await gateway.call('kill');
      const recovery = await client.call('awaitRecovery', { timeoutMs: 10_000 });
      const resumedAt = recovery.at[0];
      if (resumedAt == null || recovery.resumed !== 1) failures.count += 1;
      else samples.push(resumedAt - at);
    }
  } finally {
    await client.call('close');
  }
}

export async function runRecovery(gateway: GatewayProcess, clients: PerContender<ClientProcess>): Promise<Comparison> {
  const samples = Object.fromEntries(contenderNames.map((name) => [name, [] as number[]])) as PerContender<number[]>;
  const failures = Object.fromEntries(contenderNames.map((name) => [name, { count: 0 }])) as PerContender<{ count: number }>;
  const turns = kills / killsPerTurn;
  for (let round = 0; round < turns; round++) {
    for (const name of rotated(contenderNames, round)) {
      progress(`recovery: turn ${round + 1}/${turns}, ${name}`);
      await turn(gateway, clients[name], samples[name], failures[name]);
    }
  }

  const p50 = (name: ContenderName) => (samples[name].length ? percentile(samples[name], 50) : Number.NaN);
  const worst = (name: ContenderName) => (samples[name].length ? max(samples[name]) : Number.NaN);
  const lifelineRatio = ratio(p50('lifeline'), p50('raw ws'));
  const table = markdownTable(
    ['contender', 'p50 kill → RESUMED', 'max', 'p50 vs raw ws', 'resumed'],
    contenderNames.map((name) => [
      name,
      ms(p50(name)),
      ms(worst(name)),
      times(ratio(p50(name), p50('raw ws'))),
      `${samples[name].length}/${kills}`,
    ]),
  );
  return {
    title: 'Recovery after a server-side kill',
    method:
      `${kills} kills per contender (socket destroyed by the gateway, session resumable), time from the kill to RESUMED. ` +
      `lifeline runs with \`timeouts.stable: ${lifelineStableMs}\` and each kill comes ${pauseBeforeKillMs} ms after the previous recovery, ` +
      'so every kill hits a stable session (default stable period: 5 s).',
    table,
    notes: ['@discordjs/ws waits a fixed 500 ms before every reconnect.'],
    targets: [
      {
        target: 'recovery p50 ≤ 3× raw ws',
        measured: times(lifelineRatio),
        met: failures.lifeline.count === 0 && lifelineRatio <= 3,
      },
    ],
  };
}
