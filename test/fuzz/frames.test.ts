import { afterEach, describe, expect, it } from 'vitest';
import { checkResumeUrl } from '../../src/index.ts';
import { zstdAvailable, type StreamCompression } from '../../src/compression/transportCompression.ts';
import { isAboutFrameType, isEmptyMessage } from './arbitraries.ts';
import type { FuzzCase } from './frameModel.ts';
import { namedCases } from './namedCases.ts';
import { FuzzRig } from './rig.ts';
import { maxErrorMessageLength } from './verdicts.ts';
import { collector, randomSeed, runFuzz } from './run.ts';

/**
 * Hostile frames over a real socket: the chaos gateway's sendRaw() to a createGateway() client
 * with a 64 KiB max payload. Each frame must be reported on `error` with a clear message (or,
 * when valid but odd, handled as documented), and the gateway must get back to ready; no crash,
 * no hang, no unhandled rejection, nothing retained. The decoder-level half is decoder.test.ts.
 * A failure names the seed: FUZZ_SEED=<seed> replays it.
 */

const maxPayload = 64 * 1024;
const cases = Number(process.env.FUZZ_CASES ?? 1_000);
const seed = Number(process.env.FUZZ_SEED ?? randomSeed());

let rig: FuzzRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('hostile frames over a real socket', () => {
  it(`every kind the issue names: ${namedCases.length} cases in a row on one client`, async () => {
    rig = await FuzzRig.start({ maxPayload, token: 'tok-named-cases' });
    const outcomes: string[] = [];
    for (const fuzzCase of namedCases) outcomes.push(`${fuzzCase.label}: ${(await rig.runCase(fuzzCase)).outcome}`);
    // Spot checks of the oracle's reading, so that a wrong oracle cannot pass everything.
    expect(outcomes).toContain('invalid JSON: recovered');
    expect(outcomes).toContain('one byte over the max payload: recovered');
    expect(outcomes).toContain('HELLO heartbeat_interval 0 in the handshake: recovered');
    expect(outcomes).toContain('HELLO at the longest accepted interval, in the handshake: accepted');
    expect(outcomes).toContain('DISPATCH going backwards: stayed');
    expect(outcomes).toContain('DISPATCH jumping ahead: stayed');
    expect(outcomes).toContain('READY without session_id: recovered');
  }, 60_000);

  it(`${cases} generated cases (seed ${seed}): reported or handled as documented, then ready again`, async () => {
    const summary = await runFuzz({ seed, cases, maxPayload, casesPerRig: cases, progressEvery: 250, stopOnFailure: true });
    expect(summary.failures, `replay with FUZZ_SEED=${seed}`).toEqual([]);
    expect(summary.unhandled).toEqual([]);
    expect(summary.cases).toBe(cases);
    expect(summary.outcomes.stayed).toBeGreaterThan(cases / 10);
    expect(summary.outcomes.recovered).toBeGreaterThan(cases / 4);
    expect(summary.errorsReported).toBeGreaterThan(cases / 4);
    // The gateway's state does not grow with what it was sent.
    expect(summary.maxSnapshotChars).toBeLessThan(4_096);
    if (collector()) {
      expect(summary.retained.tracked).toBeGreaterThan(cases / 4);
      expect(summary.retained.alive, 'errors or payloads the engine still holds after a GC').toBe(0);
      const [, afterWarmUp = 0] = summary.heapSamples;
      expect(Math.max(...summary.heapSamples) - afterWarmUp, 'heap growth after the first 250 cases').toBeLessThan(32 * 1024 * 1024);
    }
  }, 120_000);
});

const streamFaultCases: FuzzCase[] = [
  { label: 'garbage in the stream', phase: 'ready', body: { as: 'stream', fault: 'garbage', bytes: [1, 2, 3] } },
  { label: 'a text frame on the stream', phase: 'ready', body: { as: 'stream', fault: 'text', bytes: [] } },
  { label: "another stream's start", phase: 'ready', body: { as: 'stream', fault: 'foreign', bytes: [] } },
  { label: 'garbage in place of HELLO', phase: 'hello', body: { as: 'stream', fault: 'garbage', bytes: [] } },
  { label: 'a text frame in place of READY', phase: 'identify', body: { as: 'stream', fault: 'text', bytes: [] } },
];
const compressedCases = Math.max(100, Math.floor(cases / 4));
const streams: StreamCompression[] = ['zlib-stream', 'zstd-stream'];

describe.each(streams)('hostile frames over a real %s connection', (compression) => {
  if (compression === 'zstd-stream' && !zstdAvailable()) {
    it('is not available on this Node: asking for it fails at once', async () => {
      console.log(`fuzz: zstd-stream cases did not run: Node ${process.version} has no node:zlib zstd (Node ≥ 22.15 or 24)`);
      await expect(FuzzRig.start({ maxPayload, token: 'tok-zstd', compression })).rejects.toThrow(/Node ≥ 22\.15 or 24/);
    });
    return;
  }

  it('every named kind as a message of the stream, and every fault of the stream itself', async () => {
    rig = await FuzzRig.start({ maxPayload, token: `tok-named-${compression}`, compression });
    const outcomes: string[] = [];
    const named = namedCases.filter((c) => !isEmptyMessage(c) && !isAboutFrameType(c));
    for (const fuzzCase of [...named, ...streamFaultCases]) outcomes.push(`${fuzzCase.label}: ${(await rig.runCase(fuzzCase)).outcome}`);
    expect(outcomes).toContain('invalid JSON: recovered');
    // Past maxPayload once inflated: a bomb, stopped at the limit.
    expect(outcomes).toContain('one byte over the max payload: recovered');
    expect(outcomes).toContain('text that is not UTF-8: recovered');
    expect(outcomes).toContain('DISPATCH jumping ahead: stayed');
    for (const { label } of streamFaultCases) expect(outcomes).toContain(`${label}: recovered`);
  }, 60_000);

  it(`${compressedCases} generated cases (seed ${seed}), stream faults among them`, async () => {
    const summary = await runFuzz({
      seed,
      cases: compressedCases,
      maxPayload,
      casesPerRig: compressedCases,
      progressEvery: 50,
      stopOnFailure: true,
      compression,
    });
    expect(summary.failures, `replay with FUZZ_SEED=${seed}`).toEqual([]);
    expect(summary.unhandled).toEqual([]);
    expect(summary.cases).toBe(compressedCases);
    expect(summary.outcomes.recovered).toBeGreaterThan(compressedCases / 4);
    if (collector()) expect(summary.retained.alive, 'errors or payloads the engine still holds after a GC').toBe(0);
  }, 120_000);
});

describe('bugs found by the fuzzer stay fixed', () => {
  it('a resume URL warning quotes a bounded part of the URL', () => {
    const verdict = checkResumeUrl(`${'x'.repeat(5_000)}://host`, 'ws://127.0.0.1:1/?v=10', []);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason.length).toBeLessThanOrEqual(maxErrorMessageLength);
  });
});
