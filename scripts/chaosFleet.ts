import fc from 'fast-check';
import { GatewayChild } from '../test/fleetProperty/gatewayChild.ts';
import { runFleetSchedule, warmUp, type FleetEnvironment } from '../test/fleetProperty/runFleetSchedule.ts';
import { describeFleetSchedule, fleetScheduleArbitrary, type FleetSchedule, type QueueKind } from '../test/fleetProperty/schedule.ts';
import { haveRedisServer, inCI, redisMissing, RedisServer } from '../test/support/redisServer.ts';

/**
 * The fleet's part of `npm run test:chaos`: random fault schedules against createShardManager on
 * real sockets, its queue in memory or in a real redis-server, judged by what the chaos gateway
 * (in its own process) saw arrive (see test/fleetProperty). Schedules run one after another in
 * real time, a second or two each, so they run after the engine's, not beside them: a loaded
 * machine would squeeze the arrivals the window is measured on.
 */

export interface FleetChaosOptions {
  runs: number;
  seed: number;
  /** replays one schedule of `seed` (from a failure report) */
  path?: string;
  queues: 'both' | QueueKind;
  /** replays spent on shrinking a failure before the smallest found so far is reported */
  maxShrinks: number;
  progressEvery: number;
}

/** Runs the schedules and prints what they did; resolves to false when one broke an invariant. */
export async function runFleetChaos(options: FleetChaosOptions): Promise<boolean> {
  let queues: QueueKind[] = options.queues === 'both' ? ['memory', 'redis'] : [options.queues];
  if (queues.includes('redis') && !haveRedisServer) {
    console.log(`\n⚠  ${redisMissing}`);
    if (inCI) return false;
    queues = queues.filter((queue) => queue !== 'redis');
    if (queues.length === 0) return false;
  }
  const queueOption = queues.length === 2 ? '' : ` --queue ${queues[0]}`;
  console.log(
    options.path
      ? `\nfleet: seed ${options.seed} path ${options.path}: replaying`
      : `\nfleet: seed ${options.seed}: ${options.runs} schedules on the ${queues.join(' and ')} queue${queues.length > 1 ? 's' : ''}`,
  );

  const env: FleetEnvironment = { gateway: await GatewayChild.start() };
  const started = performance.now();
  let ran = 0;
  let identifies = 0;
  let shrinks = 0;
  let failing = false;
  const perQueue: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  let details: fc.RunDetails<[FleetSchedule]>;
  try {
    if (queues.includes('redis')) env.redis = await RedisServer.start();
    await warmUp(env, queues);
    const property = fc.asyncProperty(fleetScheduleArbitrary(queues), async (schedule) => {
      if (failing && ++shrinks > options.maxShrinks) return; // out of replays: the smallest failure so far stands
      try {
        const summary = await runFleetSchedule(schedule, env);
        if (failing) return;
        ran += 1;
        identifies += summary.identifies;
        perQueue[schedule.queue] = (perQueue[schedule.queue] ?? 0) + 1;
        for (const [code, count] of Object.entries(summary.errorCodes)) errorCodes[code] = (errorCodes[code] ?? 0) + count;
        if (ran % options.progressEvery === 0) {
          console.log(`  ${ran} schedules, ${((performance.now() - started) / 1000).toFixed(1)} s, ${identifies} IDENTIFYs judged`);
        }
      } catch (error) {
        if (!failing) {
          console.log(`\nschedule ${ran + 1} broke an invariant; shrinking it (at most ${options.maxShrinks} replays):`);
          console.log(error instanceof Error ? error.message : String(error));
        }
        failing = true;
        throw error;
      }
    });
    details = await fc.check(property, { numRuns: options.runs, seed: options.seed, ...(options.path ? { path: options.path } : {}) });
  } finally {
    await env.gateway.stop();
    await env.redis?.stop();
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (details.failed) {
    const [counterexample] = details.counterexample ?? [];
    const message = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    console.log(`\nFLEET FAILED after ${details.numRuns} schedules of seed ${details.seed} (${details.numShrinks} shrinks, ${seconds} s)`);
    console.log(
      `replay: npm run test:chaos -- --suite fleet${queueOption} --seed ${details.seed} --path ${details.counterexamplePath ?? ''}`,
    );
    console.log(`\nsmallest schedule found:\n${counterexample ? describeFleetSchedule(counterexample) : '(none)'}\n\n${message}`);
    return false;
  }
  console.log(`\nfleet OK: ${ran} schedules in ${seconds} s (${JSON.stringify(perQueue)}), ${identifies} IDENTIFYs judged by the server`);
  console.log(`fleet errors reported on the way: ${JSON.stringify(errorCodes)}`);
  return true;
}
