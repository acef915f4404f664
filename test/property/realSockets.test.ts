import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeStep } from './schedule.ts';
import { RealWorld, realScheduleArbitrary, type RealSchedule } from './realWorld.ts';

/** Runs one schedule on real sockets; throws with the schedule and what broke. */
async function runRealSchedule(schedule: RealSchedule): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const world = await RealWorld.start(schedule);
  let at = 'the final stop';
  try {
    for (const [index, step] of schedule.steps.entries()) {
      await world.perform(step);
      await world.check();
      if (world.violations.length > 0) {
        at = `step ${index + 1}`;
        break;
      }
    }
    if (world.violations.length === 0) await world.finish();
  } finally {
    await world.close();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
  }
  for (const reason of unhandled) world.violations.push(`unhandled rejection: ${String(reason)}`);
  if (world.violations.length > 0) {
    const steps = schedule.steps.map((step, i) => `  ${i + 1}. ${describeStep(step)}`).join('\n');
    throw new Error(
      `at ${at}:\n${world.violations.map((v) => `  - ${v}`).join('\n')}\nheartbeat ${schedule.heartbeatInterval} ms, steps:\n${steps}`,
    );
  }
}

describe('fault schedules on real sockets against the chaos gateway', () => {
  const numRuns = Number(process.env.REAL_PROPERTY_RUNS ?? 30);

  it(`hold the invariants observable on a real network over ${numRuns} random schedules`, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(realScheduleArbitrary, async (schedule) => {
        runs += 1;
        await runRealSchedule(schedule);
      }),
      { numRuns },
    );
    expect(runs).toBeGreaterThanOrEqual(numRuns);
  }, 120_000);
});
