import { startClientProcess, type GatewayProcess } from './lib/processes.ts';
import { progress, type Comparison } from './lib/report.ts';
import { median } from './lib/stats.ts';
import { markdownTable, ms, times } from './lib/table.ts';
import { fleetShards } from './shardMemory.ts';

/**
 * Shard fleet 2. Time to all READY against the minimum. The chaos gateway enforces Discord's start
 * rules with the window scaled down: `max_concurrency` 16, one IDENTIFY per bucket per 100 ms,
 * buckets started in order; a breach gets op 9 and is counted. 1,000 shards need ceil(1000/16) = 63
 * IDENTIFYs in the fullest bucket, so the last one can come no sooner than 62 windows after the
 * first: that is the minimum. Measured: from `start()` to every shard READY in the client, and
 * from the first to the last accepted IDENTIFY at the gateway.
 */

const maxConcurrency = 16;
const identifyWindowMs = 100;
const rounds = Number(process.env.BENCH_SHARD_START_ROUNDS ?? 2);
const minimumMs = (Math.ceil(fleetShards / maxConcurrency) - 1) * identifyWindowMs;

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

async function startOnce(gateway: GatewayProcess): Promise<Sample> {
  const client = await startClientProcess('lifeline shards');
  try {
    const { url } = await gateway.call('start', {
      fleet: { maxConcurrency, identifyWindowMs, budget: { total: 100_000, remaining: 100_000 } },
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
  const samples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    progress(`shard start: round ${round + 1}/${rounds}, lifeline shards`);
    const sample = await startOnce(gateway);
    samples.push(sample);
    if (sample.violations > 0) progress(`  ${sample.violations} violation(s); window breaches: ${sample.windowBreaches.join('; ')}`);
  }
  const allReady = median(samples.map((s) => s.allReadyMs));
  const span = median(samples.map((s) => s.spanMs));
  const violations = Math.max(...samples.map((s) => s.violations));
  const worstRound = samples.reduce((a, b) => (b.violations > a.violations ? b : a));
  const kinds = Object.entries(worstRound.kinds).map(([kind, n]) => `${kind} ${n}`);
  const table = markdownTable(
    ['contender', 'start() → all READY', 'vs minimum', 'first → last IDENTIFY', 'vs minimum', 'gap in a bucket (median / max)', 'IDENTIFYs accepted', 'violations (worst round)'],
    [
      ['minimum', ms(minimumMs), times(1), ms(minimumMs), times(1), `${ms(identifyWindowMs)} / ${ms(identifyWindowMs)}`, String(fleetShards), '0'],
      [
        'lifeline shards',
        ms(allReady),
        times(allReady / minimumMs),
        ms(span),
        times(span / minimumMs),
        `${ms(median(samples.map((s) => s.gapMedian)))} / ${ms(Math.max(...samples.map((s) => s.gapMax)))}`,
        `${Math.min(...samples.map((s) => s.identified))}`,
        `${violations}${kinds.length ? ` (${kinds.join(', ')})` : ''}`,
      ],
    ],
  );
  return {
    title: `Shard fleet: time to all READY (${fleetShards.toLocaleString('en-US')} shards, max_concurrency ${maxConcurrency}, ${identifyWindowMs} ms window)`,
    method:
      `The chaos gateway enforces the start rules (one IDENTIFY per bucket per ${identifyWindowMs} ms, buckets in order, op 9 and a ` +
      `recorded violation for a breach). ${fleetShards.toLocaleString('en-US')} shards in ${maxConcurrency} buckets need ` +
      `${Math.ceil(fleetShards / maxConcurrency)} IDENTIFYs in the fullest bucket, so the minimum from the first to the last is ` +
      `${Math.ceil(fleetShards / maxConcurrency) - 1} windows, ${ms(minimumMs)}. lifeline shards: one \`createShardManager\` told ` +
      `\`max_concurrency: ${maxConcurrency}\` by its \`gatewayInfo\` and given \`identifyWindowMs: ${identifyWindowMs}\`; median of ${rounds} rounds.`,
    table,
    notes: [
      'The default identify queue waits 5% longer than the window (`identifyWindowMargin`): Discord measures a bucket\'s ' +
        'window between IDENTIFYs as they arrive, and an IDENTIFY that leaves quickly after its grant must not land inside ' +
        'the previous one\'s window. That margin alone puts the floor for lifeline at 1.05× the minimum.',
      '@discordjs/ws is not run here. Its identify throttle (`SimpleIdentifyThrottler` in 2.0.4) has a fixed 5,000 ms ' +
        'window that cannot be scaled down, and it adds a random wait of 0–1.5 s before each IDENTIFY that follows another ' +
        'in its bucket. At Discord\'s real window the same fleet would take it at least 62 × 5 s = 310 s, about 357 s with ' +
        'the mean jitter (≈ 1.15× the minimum; arithmetic from its source, not measured); lifeline\'s queue at 5,000 ms would ' +
        'take 62 × 5.25 s ≈ 326 s (1.05×).',
    ],
    targets: [
      {
        target: `shard fleet: start ${fleetShards.toLocaleString('en-US')} shards with 0 violations`,
        measured: `${violations} violation(s) in the worst round`,
        met: violations === 0,
      },
      {
        target: 'shard fleet: time to all READY ≤ 1.10× the minimum',
        measured: `${times(allReady / minimumMs)} (${ms(allReady)} vs ${ms(minimumMs)}); IDENTIFY span ${times(span / minimumMs)}`,
        met: allReady / minimumMs <= 1.1,
      },
    ],
  };
}
