/**
 * npm run test:chaos [-- --runs N] [-- --seed N --path P]
 *
 * The long property run: 100,000 random fault schedules against the engine under a manual clock
 * with fake sockets (see test/property), split over one worker process per core. The seed comes
 * first; worker i runs seed + i. A failure prints the seed and path that replay it (in one
 * process) and the counterexample fast-check shrank it to. Exits 1 on failure.
 *
 * Then the fleet's run (see scripts/chaosFleet.ts): --fleet-runs N schedules (default 100) against
 * a shard manager on real sockets, its identify queue in memory and in a real redis-server, with
 * the same seed. `--suite engine|fleet` runs one of the two; a fleet failure replays with
 * `--suite fleet [--queue memory|redis] --seed N --path P`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { runShare, type WorkerMessage, type ShareResult } from './chaosShare.ts';
import { runFleetChaos } from './chaosFleet.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    path: { type: 'string' },
    progress: { type: 'string', default: '10000' },
    workers: { type: 'string', default: String(availableParallelism()) },
    worker: { type: 'boolean', default: false },
    suite: { type: 'string' },
    'fleet-runs': { type: 'string', default: '100' },
    'fleet-shrinks': { type: 'string', default: '40' },
    queue: { type: 'string', default: 'both' },
  },
});
// A path replays one schedule: of the engine unless the fleet is named.
const suite = values.suite ?? (values.path ? 'engine' : 'all');
const fleetRuns = Number(values['fleet-runs']);
const fleetShrinks = Number(values['fleet-shrinks']);
const queue = values.queue;
const runs = Number(values.runs);
const seed = values.seed === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0 : Number(values.seed);
const every = Number(values.progress);
const workers = values.path ? 1 : Math.max(1, Math.min(Number(values.workers), runs));
if (
  !Number.isSafeInteger(runs) ||
  runs <= 0 ||
  !Number.isInteger(seed) ||
  !(every > 0) ||
  !(workers >= 1) ||
  !['all', 'engine', 'fleet'].includes(suite) ||
  !Number.isSafeInteger(fleetRuns) ||
  fleetRuns <= 0 ||
  !(fleetShrinks >= 0) ||
  (queue !== 'both' && queue !== 'memory' && queue !== 'redis')
) {
  console.error(
    'usage: npm run test:chaos -- [--runs N] [--seed N [--path P]] [--progress N] [--workers N]\n' +
      '                            [--suite all|engine|fleet] [--fleet-runs N] [--fleet-shrinks N] [--queue both|memory|redis]',
  );
  process.exit(2);
}

if (values.worker) {
  // A worker: run its share and report to the parent.
  const report = (message: WorkerMessage) => process.send!(message);
  const result = await runShare({ runs, seed, path: values.path, onProgress: (ran) => report({ type: 'progress', ran }) });
  report({ type: 'result', result });
  process.disconnect();
} else {
  if (suite !== 'fleet') await orchestrate();
  if (suite !== 'engine') {
    const ok = await runFleetChaos({
      runs: fleetRuns,
      seed,
      path: values.path,
      queues: queue,
      maxShrinks: fleetShrinks,
      progressEvery: 10,
    });
    if (!ok) process.exit(1);
  }
}

async function orchestrate(): Promise<void> {
  console.log(
    values.path
      ? `seed ${seed} path ${values.path}: replaying`
      : `seed ${seed}: ${runs} schedules over ${workers} worker(s) (worker i runs seed ${seed} + i)`,
  );
  const started = performance.now();
  const progress = new Array<number>(workers).fill(0);
  let printed = 0;
  const onProgress = (worker: number, ran: number) => {
    progress[worker] = ran;
    const total = progress.reduce((a, b) => a + b, 0);
    while (total >= printed + every) {
      printed += every;
      const seconds = (performance.now() - started) / 1000;
      console.log(`  ${printed} schedules, ${seconds.toFixed(1)} s, ${Math.round(total / seconds)}/s`);
    }
  };

  const shares = Array.from({ length: workers }, (_, i) => Math.floor(runs / workers) + (i < runs % workers ? 1 : 0));
  const children: ChildProcess[] = [];
  const results = await Promise.all(
    shares.map((share, i) =>
      values.path
        ? runShare({ runs: share, seed, path: values.path, onProgress: (ran) => onProgress(i, ran) })
        : runWorker(children, share, seed + i, (ran) => onProgress(i, ran)),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const failure = results.find((result) => result.failure);
  if (failure?.failure) {
    const { failure: f } = failure;
    console.log(`\nFAILED after ${f.numRuns} schedules of seed ${f.seed} (${f.numShrinks} shrinks, ${seconds.toFixed(1)} s)`);
    console.log(`replay: npm run test:chaos -- --seed ${f.seed} --path ${f.path}`);
    console.log(`\nminimal schedule:\n${f.schedule}\n\n${f.message}`);
    process.exit(1);
  }
  const ran = results.reduce((sum, r) => sum + r.ran, 0);
  const cpuSeconds = results.reduce((sum, r) => sum + r.cpuSeconds, 0);
  const steps = results.reduce((sum, r) => sum + r.steps, 0);
  const outcomes = { stopped: 0, failed: 0 };
  const plans = new Map<string, number>();
  for (const result of results) {
    outcomes.stopped += result.outcomes.stopped;
    outcomes.failed += result.outcomes.failed;
    for (const [plan, count] of result.plans) plans.set(plan, (plans.get(plan) ?? 0) + count);
  }
  console.log(
    `\nOK: ${ran} schedules (${steps} steps) in ${seconds.toFixed(1)} s: ${Math.round(ran / seconds)} schedules/s on ${workers} worker(s)`,
  );
  console.log(`CPU: ${cpuSeconds.toFixed(1)} s, ${Math.round(ran / cpuSeconds)} schedules per CPU-second`);
  console.log(`ended stopped: ${outcomes.stopped}, ended failed: ${outcomes.failed}`);
  console.log('recovery decisions taken (trigger → action: count):');
  for (const [plan, count] of [...plans].sort((a, b) => b[1] - a[1])) console.log(`  ${plan}: ${count}`);
}

/** Forks this script as a worker for one share; a failing worker stops the others. */
function runWorker(children: ChildProcess[], share: number, workerSeed: number, onProgress: (ran: number) => void): Promise<ShareResult> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1]!, ['--worker', '--runs', String(share), '--seed', String(workerSeed)], {
      execArgv: process.execArgv,
    });
    children.push(child);
    let result: ShareResult | undefined;
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress(message.ran);
      else {
        result = message.result;
        if (result.failure) for (const other of children) if (other !== child) other.kill();
      }
    });
    child.on('exit', (code, signal) => {
      if (result) resolve(result);
      else if (signal === 'SIGTERM') resolve({ ran: 0, cpuSeconds: 0, steps: 0, outcomes: { stopped: 0, failed: 0 }, plans: [] });
      else reject(new Error(`worker for seed ${workerSeed} exited with ${code ?? signal} and no result`));
    });
  });
}
