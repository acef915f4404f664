import { identifyWindowMargin } from '../src/index.ts';
import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, type Comparison, type TargetCheck } from './lib/report.ts';
import { markdownTable, ms, times } from './lib/table.ts';
import { fleetShards } from './shardMemory.ts';

/**
 * Shard fleet 2. Time to all READY against the minimum. The chaos gateway enforces Discord's start
 * rules with the window scaled down: `max_concurrency` 16, one IDENTIFY per bucket per 100 ms,
 * buckets started in order; a breach gets op 9 and is counted. 1,000 shards need ceil(1000/16) = 63
 * IDENTIFYs in the fullest bucket, so the last one can come no sooner than 62 windows after the
 * first: that is the minimum. Measured: from `start()` to every shard READY in the client, and
 * from the first to the last accepted IDENTIFY at the gateway. lifeline's queue is given the
 * server's window, then a window 20% wider (see the notes).
 */

const maxConcurrency = 16;
const serverWindowMs = 100;
const clientWindows = [100, 120];
const rounds = 1;
const windowsNeeded = Math.ceil(fleetShards / maxConcurrency) - 1;
const minimumMs = windowsNeeded * serverWindowMs;

interface Sample {
  allReadyMs: number;
  spanMs: number;
  violations: number;
  kinds: Record<string, number>;
  identified: number;
  gapMedian: number;
  gapMax: number;
  windowBreaches: string[];
}

async function startOnce(gateway: GatewayProcess, identifyWindowMs: number): Promise<Sample> {
  const client = await startClientProcess('lifeline shards');
  try {
    const { url } = await gateway.call('start', {
      fleet: { maxConcurrency, identifyWindowMs: serverWindowMs, budget: { total: 100_000, remaining: 100_000 } },
    });
    const { ms: allReadyMs } = await client.call('open', { url, count: fleetShards, maxConcurrency, identifyWindowMs });
    const report = await gateway.call('fleetReport', { maxConcurrency });
    await client.call('close');
    return {
      allReadyMs,
      spanMs: report.firstAt !== null && report.lastAt !== null ? report.lastAt - report.firstAt : Number.NaN,
      violations: report.violations,
      kinds: report.kinds,
      identified: report.identified,
      gapMedian: report.gapMedian ?? Number.NaN,
      gapMax: report.gapMax ?? Number.NaN,
      windowBreaches: report.windowBreaches,
    };
  } finally {
    await client.stop();
  }
}

export async function runShardReady(gateway: GatewayProcess): Promise<Comparison> {
  const results: { clientWindowMs: number; sample: Sample }[] = [];
  for (const clientWindowMs of clientWindows) {
    for (let round = 0; round < rounds; round++) {
      progress(`shard start: identifyWindowMs ${clientWindowMs}, round ${round + 1}/${rounds}, lifeline shards`);
      const sample = await startOnce(gateway, clientWindowMs);
      results.push({ clientWindowMs, sample });
      if (sample.violations > 0) progress(`  ${sample.violations} violation(s); window breaches: ${sample.windowBreaches.join('; ')}`);
    }
  }
  const pace = (clientWindowMs: number) => windowsNeeded * clientWindowMs * (1 + identifyWindowMargin);
  const violationText = (s: Sample) =>
    `${s.violations}${
      s.violations
        ? ` (${Object.entries(s.kinds)
            .map(([kind, n]) => `${kind} ${n}`)
            .join(', ')})`
        : ''
    }`;
  const table = markdownTable(
    [
      'lifeline shards, queue window',
      'start() → all READY',
      'vs minimum',
      "vs its queue's pace",
      'first → last IDENTIFY',
      'gap in a bucket (median / max)',
      'IDENTIFYs accepted',
      'violations',
    ],
    [
      [
        'minimum (server window)',
        ms(minimumMs),
        times(1),
        '',
        ms(minimumMs),
        `${ms(serverWindowMs)} / ${ms(serverWindowMs)}`,
        String(fleetShards),
        '0',
      ],
      ...results.map(({ clientWindowMs, sample }) => [
        `identifyWindowMs ${clientWindowMs} (waits ${ms(clientWindowMs * (1 + identifyWindowMargin))})`,
        ms(sample.allReadyMs),
        times(sample.allReadyMs / minimumMs),
        times(sample.allReadyMs / pace(clientWindowMs)),
        ms(sample.spanMs),
        `${ms(sample.gapMedian)} / ${ms(sample.gapMax)}`,
        String(sample.identified),
        violationText(sample),
      ]),
    ],
  );
  const breaches = results.flatMap(({ clientWindowMs, sample }) =>
    sample.windowBreaches.length ? [`identifyWindowMs ${clientWindowMs}: ${sample.windowBreaches.slice(0, 3).join('; ')}`] : [],
  );
  const targets: TargetCheck[] = results.flatMap(({ clientWindowMs, sample }) => [
    {
      target: `shard fleet start, identifyWindowMs ${clientWindowMs} (server ${serverWindowMs}): 0 violations`,
      measured: violationText(sample),
      met: sample.violations === 0,
    },
    {
      target: `shard fleet start, identifyWindowMs ${clientWindowMs}: time to all READY vs the minimum (reported)`,
      measured: `${times(sample.allReadyMs / minimumMs)} (${ms(sample.allReadyMs)} vs ${ms(minimumMs)}); ${times(sample.allReadyMs / pace(clientWindowMs))} of its queue's pace`,
      met: null,
    },
  ]);
  return {
    title: `Shard fleet: time to all READY (${fleetShards.toLocaleString('en-US')} shards, max_concurrency ${maxConcurrency}, ${serverWindowMs} ms window)`,
    method:
      `The chaos gateway enforces the start rules (one IDENTIFY per bucket per ${serverWindowMs} ms, buckets in order, op 9 and a ` +
      `recorded violation for a breach). ${fleetShards.toLocaleString('en-US')} shards in ${maxConcurrency} buckets need ` +
      `${windowsNeeded + 1} IDENTIFYs in the fullest bucket, so the minimum from the first to the last is ` +
      `${windowsNeeded} windows, ${ms(minimumMs)}. lifeline shards: one \`createShardManager\` told ` +
      `\`max_concurrency: ${maxConcurrency}\` by its \`gatewayInfo\`, with \`identifyWindowMs\` as in each row; its default queue ` +
      `waits ${Math.round(identifyWindowMargin * 100)}% longer than that, so its own pace is ${windowsNeeded} × 1.05 × identifyWindowMs. ` +
      `${rounds} round per row. The gap in a bucket is between accepted IDENTIFYs as the gateway received them.`,
    table,
    notes: [
      "Discord measures a bucket's window between IDENTIFYs as they arrive, so an IDENTIFY that leaves its client later than the " +
        "one after it eats into the margin. The queue's margin is 5% of the window: 250 ms at Discord's 5 s, but 5 ms here, less " +
        'than the event-loop delay of a process starting 1,000 shards on a loaded machine (and the chaos gateway stamps an IDENTIFY ' +
        'when its own process gets to it, so a stall there squeezes two arrivals together as well). A breach costs the shard an op 9 and ' +
        'a fresh IDENTIFY 1–5 s later (the max gap), which is what stretches the start. With the window scaled down, the queue ' +
        "needs a wider window than the server's (the fleet tests use 1.25×); at Discord's window the default is enough. " +
        "The median gap can also exceed the queue's pace: at start the manager connects the next shard of a bucket only once the one " +
        "before it has asked for its turn (so the queue sees each bucket in order), which makes a bucket's pace the larger of the " +
        "queue's wait and one shard's connect-to-HELLO time; with 1,000 shards starting in a busy process that time is above " +
        "100 ms here, far below Discord's 5 s window.",
      ...(breaches.length ? [`Window breaches seen (first few): ${breaches.join(' · ')}.`] : []),
      '@discordjs/ws is not run here. Its identify throttle (`SimpleIdentifyThrottler` in 2.0.4) has a fixed 5,000 ms ' +
        'window that cannot be scaled down, and it adds a random wait of 0–1.5 s before each IDENTIFY that follows another ' +
        `in its bucket. At Discord's real window this fleet would take it at least ${windowsNeeded} × 5 s = ${windowsNeeded * 5} s, ` +
        `about ${Math.round(windowsNeeded * 5.75)} s with the mean jitter (≈ 1.15× the minimum; arithmetic from its source, not measured); ` +
        `lifeline's default queue would take ${windowsNeeded} × 5.25 s ≈ ${Math.round(windowsNeeded * 5.25)} s (1.05×).`,
    ],
    targets,
  };
}
