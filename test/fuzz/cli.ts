/**
 * `npm run fuzz`: the real-socket fuzz at scale. Options: --cases N (100,000), --seed S (random;
 * the same seed replays the same frames), --max-payload BYTES (65,536), --compression LIST (the
 * streams to run over, comma-separated: none, zlib-stream, zstd-stream; by default all three, zstd
 * where node:zlib has it). The cases are shared out evenly between the streams. Prints progress
 * every 10,000 cases and a summary per stream; exits 1 on any failure, unhandled error or
 * retained object.
 */
import { parseArgs } from 'node:util';
import { zstdAvailable, type StreamCompression } from '../../src/compression/transportCompression.ts';
import { randomSeed, runFuzz, type FuzzSummary } from './run.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    'max-payload': { type: 'string', default: String(64 * 1024) },
    compression: { type: 'string', default: zstdAvailable() ? 'none,zlib-stream,zstd-stream' : 'none,zlib-stream' },
  },
});
const cases = Number(values.cases);
const seed = values.seed === undefined ? randomSeed() : Number(values.seed);
const maxPayload = Number(values['max-payload']);
const streams = values.compression.split(',').map((name) => name.trim());
const known = ['none', 'zlib-stream', 'zstd-stream'];
if (
  !Number.isSafeInteger(cases) ||
  cases <= 0 ||
  !Number.isSafeInteger(seed) ||
  !Number.isSafeInteger(maxPayload) ||
  !streams.every((name) => known.includes(name))
) {
  console.error('usage: npm run fuzz -- [--cases N] [--seed S] [--max-payload BYTES] [--compression none,zlib-stream,zstd-stream]');
  process.exit(2);
}
if (streams.includes('zstd-stream') && !zstdAvailable()) {
  console.error(`zstd-stream needs node:zlib zstd (Node ≥ 22.15 or 24); this is Node ${process.version}`);
  process.exit(2);
}
if (!zstdAvailable()) console.log(`fuzz: zstd-stream not run: Node ${process.version} has no node:zlib zstd (Node ≥ 22.15 or 24)`);

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

let failed = false;
for (const [index, stream] of streams.entries()) {
  const share = Math.floor(cases / streams.length) + (index < cases % streams.length ? 1 : 0);
  const compression = stream === 'none' ? undefined : (stream as StreamCompression);
  const replay = `npm run fuzz -- --seed ${seed} --cases ${share} --compression ${stream}`;
  console.log(`fuzz over ${stream}: ${share} cases, seed ${seed} (replay: ${replay}), max payload ${maxPayload} bytes`);
  const summary: FuzzSummary = await runFuzz({
    seed,
    cases: share,
    maxPayload,
    compression,
    onProgress: (s) => {
      const { stayed, recovered, accepted } = s.outcomes;
      console.log(
        `  ${s.cases} cases in ${seconds(s.durationMs)}: ${recovered} recovered, ${stayed} stayed ready, ${accepted} accepted in a handshake; ` +
          `${s.errorsReported} errors reported; ${s.failures.length} failures; heap ${mb(s.heapSamples.at(-1) ?? 0)}`,
      );
    },
  });
  report(stream, summary);
  failed ||= summary.failures.length > 0 || summary.unhandled.length > 0 || summary.retained.alive > 0;
}
process.exitCode = failed ? 1 : 0;

function report(stream: string, summary: FuzzSummary): void {
  const { stayed, recovered, accepted } = summary.outcomes;
  console.log(`
summary over ${stream} (seed ${seed})
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
}
