import fc from 'fast-check';
import { runSchedule } from '../test/property/runSchedule.ts';
import { describeSchedule, scheduleArbitrary, type Schedule } from '../test/property/schedule.ts';

export interface ShareFailure {
  seed: number;
  path: string;
  numRuns: number;
  numShrinks: number;
  /** the shrunk schedule, one step a line */
  schedule: string;
  /** the violation, with the traced replay */
  message: string;
}

export interface ShareResult {
  ran: number;
  /** CPU time this share used, user + system, in seconds */
  cpuSeconds: number;
  steps: number;
  outcomes: { stopped: number; failed: number };
  plans: Array<[string, number]>;
  failure?: ShareFailure;
}

export type WorkerMessage = { type: 'progress'; ran: number } | { type: 'result'; result: ShareResult };

const progressEvery = 1_000;

/** Runs `runs` schedules from `seed` (or replays `path`) and counts what they exercised. */
export async function runShare(options: {
  runs: number;
  seed: number;
  path?: string;
  onProgress: (ran: number) => void;
}): Promise<ShareResult> {
  const cpuAtStart = process.cpuUsage();
  let ran = 0;
  let steps = 0;
  let shrinking = false;
  const outcomes = { stopped: 0, failed: 0 };
  const plans = new Map<string, number>();

  const property = fc.asyncProperty(scheduleArbitrary(), async (schedule: Schedule) => {
    try {
      const summary = await runSchedule(schedule);
      if (shrinking) return;
      ran += 1;
      steps += schedule.steps.length;
      outcomes[summary.outcome] += 1;
      for (const plan of summary.plans) plans.set(plan, (plans.get(plan) ?? 0) + 1);
      if (ran % progressEvery === 0) options.onProgress(ran);
    } catch (error) {
      // From here on fast-check is shrinking: those runs are not progress.
      shrinking = true;
      throw error;
    }
  });

  const details = await fc.check(property, { numRuns: options.runs, seed: options.seed, path: options.path });
  options.onProgress(ran);
  const cpu = process.cpuUsage(cpuAtStart);
  const result: ShareResult = { ran, cpuSeconds: (cpu.user + cpu.system) / 1e6, steps, outcomes, plans: [...plans] };
  if (details.failed) {
    const [counterexample] = details.counterexample ?? [];
    result.failure = {
      seed: details.seed,
      path: details.counterexamplePath ?? '',
      numRuns: details.numRuns,
      numShrinks: details.numShrinks,
      schedule: counterexample ? describeSchedule(counterexample) : '(none)',
      message: details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance),
    };
  }
  return result;
}
