/**
 * `npm run fuzz`: the real-socket fuzz at scale. Options: --cases N (100,000), --seed S (random;
 * the same seed replays the same frames), --max-payload BYTES (65,536). Prints progress every
 * 10,000 cases and a summary; exits 1 on any failure, unhandled error or retained object.
 */
import { parseArgs } from 'node:util';
import { randomSeed, runFuzz, type FuzzSummary } from './run.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    'max-payload': { type: 'string', default: String(64 * 1024) },
  },
});
const cases = Number(values.cases);
const seed = values.seed === undefined ? randomSeed() : Number(values.seed);
const maxPayload = Number(values['max-payload']);
if (!Number.isSafeInteger(cases) || cases <= 0 || !Number.isSafeInteger(seed) || !Number.isSafeInteger(maxPayload)) {
  console.error('usage: npm run fuzz -- [--cases N] [--seed S] [--max-payload BYTES]');
  process.exit(2);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

console.log(`fuzz: ${cases} cases, seed ${seed} (replay: npm run fuzz -- --seed ${seed} --cases ${cases}), max payload ${maxPayload} bytes`);
const summary: FuzzSummary = await runFuzz({
  seed,
  cases,
  maxPayload,
  onProgress: (s) => {
    const { stayed, recovered, accepted } = s.outcomes;
    console.log(
      `  ${s.cases} cases in ${seconds(s.durationMs)}: ${recovered} recovered, ${stayed} stayed ready, ${accepted} accepted in a handshake; ` +
        `${s.errorsReported} errors reported; ${s.failures.length} failures; heap ${mb(s.heapSamples.at(-1) ?? 0)}`,
    );
  },
});

const { stayed, recovered, accepted } = summary.outcomes;
console.log(`
summary (seed ${seed})
  cases               ${summary.cases} in ${seconds(summary.durationMs)}
  errors reported     ${summary.errorsReported}
  recoveries          ${recovered} back to ready after a bad frame or a server request
  stayed ready        ${stayed} valid but odd frames handled without a reconnect
  handshake accepted  ${accepted} odd HELLO/READY frames that completed a handshake
  failures            ${summary.failures.length}
  unhandled           ${summary.unhandled.length}
  retained after GC   ${summary.retained.alive} of ${summary.retained.tracked} errors and payloads handed out
  max snapshot        ${summary.maxSnapshotChars} characters of JSON
  heap after GC       first ${mb(summary.heapSamples[0] ?? 0)}, max ${mb(Math.max(...summary.heapSamples))}, last ${mb(summary.heapSamples.at(-1) ?? 0)}`);
for (const [name, count] of Object.entries(summary.knownIssues)) console.log(`  known bug hit       ${count}× ${name}`);
for (const failure of summary.failures.slice(0, 20)) console.log(`\n${failure}`);
if (summary.failures.length > 20) console.log(`\n… and ${summary.failures.length - 20} more failures`);
for (const error of summary.unhandled.slice(0, 5)) console.log(`\nunhandled: ${error}`);

process.exitCode = summary.failures.length > 0 || summary.unhandled.length > 0 || summary.retained.alive > 0 ? 1 : 0;
