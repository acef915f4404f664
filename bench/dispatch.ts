import { contenderNames, type ContenderName } from './contenders/index.ts';
import type { BenchCompression } from './contenders/fleet.ts';
import type { ClientProcess, GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type PerContender } from './lib/report.ts';
import { median } from './lib/stats.ts';
import { markdownTable, num, times } from './lib/table.ts';

/**
 * 1. Dispatch cost. The gateway produces events more slowly than the clients read them, so a live
 * flood would mostly measure the gateway. Instead the client stops reading, the gateway floods the
 * session (the events wait in socket buffers), and the client resumes and reads the backlog as
 * fast as it can. From the resume to the last event: client CPU time (process.cpuUsage, user +
 * system) per event, and events per second of wall time. Every contender gets a fresh gateway and
 * connection per round; a warm-up round is discarded; the order rotates each round.
 */

export const floodEvents = 200_000;
const warmupEvents = 50_000;
/** Rounds per payload: small events are cheap to flood and their ratio is the noisier one. */
const roundsFor = { minimal: 9, message: 5 } as const;

/** What a flooded event carries besides the sequence number the chaos gateway adds. */
export const payloads = {
  /** `{"op":0,"d":{"seq":1},"s":1,"t":"MESSAGE_CREATE"}`: the per-message overhead alone */
  minimal: undefined,
  /** shaped like a real MESSAGE_CREATE in a guild, about 0.9 KB on the wire */
  message: {
    id: '1185281950023381032',
    type: 0,
    content: 'Deploy finished: 14 services rolled out, 0 failed. Dashboards updated; see the incident channel for the one retry.',
    channel_id: '1063128446190571583',
    guild_id: '1063128445611765790',
    author: {
      id: '208237466510360577',
      username: 'release-bot',
      global_name: 'Release Bot',
      avatar: '5c2d6b8e4e2f4c7b9a1d3e5f7a9b1c3d',
      discriminator: '0',
      public_flags: 65536,
      bot: true,
    },
    member: {
      roles: ['1063128445611765791', '1063131295418396703'],
      joined_at: '2023-01-12T19:03:11.811000+00:00',
      nick: null,
      deaf: false,
      mute: false,
      flags: 0,
      premium_since: null,
    },
    attachments: [],
    embeds: [],
    mentions: [],
    mention_roles: [],
    pinned: false,
    mention_everyone: false,
    tts: false,
    timestamp: '2023-12-14T09:21:40.517000+00:00',
    edited_timestamp: null,
    flags: 0,
    components: [],
    nonce: '1185281949415342080',
  },
} as const;

export type PayloadName = keyof typeof payloads;

export interface Sample {
  eventsPerSecond: number;
  cpuUsPerEvent: number;
}

export async function floodOnce(
  gateway: GatewayProcess,
  client: ClientProcess,
  payload: PayloadName,
  events: number,
  compression?: BenchCompression,
  varied = false,
): Promise<Sample> {
  const { url } = await gateway.call('start', {});
  await client.call('open', { url, count: 1, ...(compression ? { compression } : {}) });
  try {
    await client.call('armDispatches');
    await client.call('pause');
    const flood = await gateway.call('flood', { events, d: payloads[payload], varied });
    if (flood.sessions !== 1) throw new Error(`the flood reached ${flood.sessions} sessions, expected 1`);
    await client.call('readBacklog', { events, timeoutMs: 60_000 });
    const totals = await client.call('dispatchTotals');
    if (totals.events !== events) throw new Error(`${totals.events} dispatches arrived, ${events} were sent`);
    return { eventsPerSecond: events / (totals.wallMs / 1_000), cpuUsPerEvent: totals.cpuUs / events };
  } finally {
    await client.call('close');
  }
}

export async function runDispatch(
  gateway: GatewayProcess,
  clients: PerContender<ClientProcess>,
  payload: PayloadName,
): Promise<Comparison> {
  const rounds = roundsFor[payload];
  const samples = Object.fromEntries(contenderNames.map((name) => [name, [] as Sample[]])) as PerContender<Sample[]>;
  for (const name of contenderNames) await floodOnce(gateway, clients[name], payload, warmupEvents);
  for (let round = 0; round < rounds; round++) {
    for (const name of rotated(contenderNames, round)) {
      progress(`dispatch (${payload}): round ${round + 1}/${rounds}, ${name}`);
      samples[name].push(await floodOnce(gateway, clients[name], payload, floodEvents));
    }
  }

  // Contenders run next to each other in every round, so the ratio within a round cancels the
  // slow drift of a shared machine better than a ratio of medians would.
  const roundRatios = (name: ContenderName) =>
    samples[name].map((sample, round) => sample.cpuUsPerEvent / samples['raw ws'][round]!.cpuUsPerEvent);
  const summary = (name: ContenderName) => ({
    eventsPerSecond: median(samples[name].map((s) => s.eventsPerSecond)),
    cpu: median(samples[name].map((s) => s.cpuUsPerEvent)),
    ratio: median(roundRatios(name)),
    ratioMin: Math.min(...roundRatios(name)),
    ratioMax: Math.max(...roundRatios(name)),
  });
  const results = Object.fromEntries(contenderNames.map((name) => [name, summary(name)])) as PerContender<ReturnType<typeof summary>>;

  const table = markdownTable(
    ['contender', 'events/s', 'client CPU µs/event', 'CPU vs raw ws', '(range over rounds)'],
    contenderNames.map((name) => [
      name,
      num(results[name].eventsPerSecond),
      num(results[name].cpu, 2),
      times(results[name].ratio),
      name === 'raw ws' ? '' : `${times(results[name].ratioMin)}–${times(results[name].ratioMax)}`,
    ]),
  );
  const lifeline = results.lifeline;
  const discord = results['@discordjs/ws'];
  const lifelineVsDiscord = median(
    samples.lifeline.map((sample, round) => sample.cpuUsPerEvent / samples['@discordjs/ws'][round]!.cpuUsPerEvent),
  );
  return {
    title: `Dispatch cost, ${payload === 'minimal' ? 'minimal events' : 'MESSAGE_CREATE-sized events'}`,
    method:
      `${num(floodEvents)} DISPATCH events ` +
      `(${payload === 'minimal' ? 'about 60 B each: the per-message overhead alone' : 'about 0.9 KB each, shaped like a guild MESSAGE_CREATE'}) ` +
      'sent while the client is paused, then read as fast as the client can: client CPU (user + system) per event and ' +
      `events per second of wall time from the resume to the last event; medians of ${rounds} rounds after a warm-up. ` +
      'Ratios are taken within each round (contenders run back to back), then the median.',
    table,
    notes: [
      'CPU per event is the comparison. The wall-clock rate also includes waiting for the gateway process to push its ' +
        'backlog through loopback TCP (the client is idle for part of the window), so it moves by tens of percent between runs.',
    ],
    targets: [
      {
        target: `dispatch CPU ≤ 1.10× raw ws (${payload})`,
        measured: `${times(lifeline.ratio)} (rounds ${times(lifeline.ratioMin)}–${times(lifeline.ratioMax)})`,
        met: lifeline.ratio <= 1.1,
      },
      {
        target: `dispatch CPU ≤ @discordjs/ws (${payload})`,
        measured: `${num(lifeline.cpu, 2)} vs ${num(discord.cpu, 2)} µs (${times(lifelineVsDiscord)})`,
        met: lifelineVsDiscord <= 1,
      },
    ],
  };
}
