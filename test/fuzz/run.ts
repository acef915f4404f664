import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { fuzzCase } from './arbitraries.ts';
import { FuzzRig, type CaseOutcome } from './rig.ts';
import type { StreamCompression } from '../../src/compression/transportCompression.ts';

/**
 * The fuzz loop shared by the test and `npm run fuzz`: cases come from one seed in chunks (so
 * 100,000 of them are never all in memory), run on one rig per chunk of `casesPerRig`, and every
 * `progressEvery` cases the heap is measured after a full GC.
 */

export interface FuzzOptions {
  seed: number;
  cases: number;
  maxPayload: number;
  /** a fresh chaos gateway and client after this many cases: the server keeps every session it made */
  casesPerRig?: number;
  progressEvery?: number;
  onProgress?: (summary: FuzzSummary) => void;
  /** stop at the first failure (the test) or go on and count them (the CLI) */
  stopOnFailure?: boolean;
  /** run over a compressed stream: the cases include faults of the stream itself */
  compression?: StreamCompression;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  outcomes: Record<CaseOutcome, number>;
  errorsReported: number;
  failures: string[];
  /** cases that ran into a known, reported bug, by bug */
  knownIssues: Record<string, number>;
  /** errors and dispatch payloads still reachable after a full GC at the end of each rig (a leak if > 0) */
  retained: { alive: number; tracked: number };
  /** uncaught exceptions and unhandled rejections seen while fuzzing */
  unhandled: string[];
  heapSamples: number[];
  maxSnapshotChars: number;
  durationMs: number;
}

export function randomSeed(): number {
  return randomBytes(4).readInt32LE();
}

/** A full GC on demand, even without --expose-gc; null where the runtime refuses. */
export function collector(): (() => void) | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const { seed, cases, maxPayload, casesPerRig = 10_000, progressEvery = 10_000, stopOnFailure = false } = options;
  const token = `tok-${randomBytes(8).toString('hex')}`;
  const summary: FuzzSummary = {
    seed,
    cases: 0,
    outcomes: { stayed: 0, recovered: 0, accepted: 0 },
    errorsReported: 0,
    failures: [],
    knownIssues: {},
    retained: { alive: 0, tracked: 0 },
    unhandled: [],
    heapSamples: [],
    maxSnapshotChars: 0,
    durationMs: 0,
  };
  const onUnhandled = (error: unknown) => summary.unhandled.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const gc = collector();
  const sampleHeap = () => {
    gc?.();
    summary.heapSamples.push(process.memoryUsage().heapUsed);
  };
  const retire = async (old: FuzzRig) => {
    if (gc) {
      old.release();
      // WeakRef targets stay alive until the job that touched them ends.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const { alive, tracked } = old.retained();
      summary.retained.alive += alive;
      summary.retained.tracked += tracked;
    }
    await old.close();
  };
  const startedAt = performance.now();
  const arbitrary = fuzzCase({ maxPayload, compressed: options.compression !== undefined });
  const chunk = 500;
  let rig: FuzzRig | undefined;
  try {
    sampleHeap();
    for (let first = 0; first < cases; first += chunk) {
      // Each chunk has its own seed derived from the run's, so a run is replayable from --seed alone.
      const batch = fc.sample(arbitrary, { seed: (seed + first * 7919) | 0, numRuns: Math.min(chunk, cases - first) });
      for (const [offset, fuzzCase] of batch.entries()) {
        const index = first + offset;
        if (index > 0 && index % casesPerRig === 0 && rig) {
          await retire(rig);
          rig = undefined;
        }
        rig ??= await FuzzRig.start({ maxPayload, token, compression: options.compression });
        try {
          const result = await rig.runCase(fuzzCase);
          summary.outcomes[result.outcome] += 1;
          summary.errorsReported += result.errors;
          for (const name of result.knownIssues) summary.knownIssues[name] = (summary.knownIssues[name] ?? 0) + 1;
        } catch (error) {
          summary.failures.push(`case #${index} (seed ${seed}): ${error instanceof Error ? error.message : String(error)}`);
          // The rig may be stuck after a failure: start over with a new one.
          await rig.close();
          rig = undefined;
          if (stopOnFailure) return summary;
        }
        summary.cases += 1;
        summary.maxSnapshotChars = Math.max(summary.maxSnapshotChars, rig?.snapshotChars ?? 0);
        if (summary.cases % progressEvery === 0) {
          sampleHeap();
          summary.durationMs = performance.now() - startedAt;
          options.onProgress?.(summary);
        }
      }
    }
    return summary;
  } finally {
    if (rig) await retire(rig);
    sampleHeap();
    summary.durationMs = performance.now() - startedAt;
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
}
