import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { propertyMachine } from './drivers.ts';
import { mutants } from './mutants.ts';
import { runSchedule, type StubRandom } from './runSchedule.ts';
import { scheduleArbitrary } from './schedule.ts';

/** The engine's jitter replays from the schedule's seed (backoff, first heartbeat). */
const stubRandom: StubRandom = (random) => {
  const spy = vi.spyOn(Math, 'random').mockImplementation(random);
  return () => spy.mockRestore();
};

/** PROPERTY_SEED replays a failure reported by an earlier run; otherwise fast-check picks a seed. */
const seed = process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);

describe('fault schedules under a manual clock with fake sockets', () => {
  it('hold every invariant over 2,000 random schedules', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(scheduleArbitrary(), async (schedule) => {
        runs += 1;
        await runSchedule(schedule, { stubRandom });
      }),
      { numRuns: 2_000, ...(seed === undefined ? {} : { seed, path: process.env.PROPERTY_PATH }) },
    );
    expect(runs).toBeGreaterThanOrEqual(2_000);
  }, 60_000);

  describe('catch an engine broken on purpose', () => {
    it.each(mutants)('$what', async ({ adapt, caughtBy }) => {
      const machine = propertyMachine(adapt);
      const details = await fc.check(
        fc.asyncProperty(scheduleArbitrary(), (schedule) => runSchedule(schedule, { stubRandom, machine }).then(() => {})),
        { numRuns: 1_000, seed: 20_261_128 },
      );
      expect(details.failed).toBe(true);
      expect(String((details.errorInstance as Error).message)).toMatch(caughtBy);
    });
  });
});
