import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';
import { GatewayChild } from './gatewayChild.ts';
import { namedSchedules } from './namedSchedules.ts';
import { runFleetSchedule, warmUp, type FleetEnvironment } from './runFleetSchedule.ts';
import { fleetScheduleArbitrary, type QueueKind } from './schedule.ts';

/**
 * The fleet's budget and pacing under faults, judged by what the chaos gateway (in its own
 * process) saw arrive: never more IDENTIFYs than the budget in a period of the server's, never two
 * of one bucket inside its window, none once the fleet heard its token refused, and no hang. A few
 * random schedules per queue here; `npm run test:chaos` runs many more, and replays a failure of
 * this file with `npm run test:chaos -- --suite fleet --queue <memory|redis> --seed <seed> --path <path>`.
 */

const runs = Number(process.env.FLEET_PROPERTY_RUNS ?? 3);
/** FLEET_PROPERTY_SEED (and FLEET_PROPERTY_PATH) replay a failure reported by an earlier run. */
const seed = process.env.FLEET_PROPERTY_SEED === undefined ? undefined : Number(process.env.FLEET_PROPERTY_SEED);
const replay = seed === undefined ? {} : { seed, path: process.env.FLEET_PROPERTY_PATH };

const env: FleetEnvironment = {} as FleetEnvironment;

async function randomSchedules(queue: QueueKind): Promise<void> {
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(fleetScheduleArbitrary([queue]), async (schedule) => {
      ran += 1;
      await runFleetSchedule(schedule, env);
    }),
    // Each schedule takes a second or two of real time: report the first failure as found.
    { numRuns: runs, endOnFailure: true, ...replay },
  );
  expect(ran).toBeGreaterThanOrEqual(runs);
}

const named = (queue: QueueKind) => namedSchedules.filter(({ schedule }) => schedule.queue === queue);

describe('a fleet under faults, as the server sees its IDENTIFYs', () => {
  beforeAll(async () => {
    env.gateway = await GatewayChild.start();
    await warmUp(env, ['memory']);
  }, 30_000);
  afterAll(async () => {
    await env.gateway?.stop();
  });

  describe('on the memory queue', () => {
    for (const { what, schedule } of named('memory')) {
      it(
        what,
        async () => {
          await runFleetSchedule(schedule, env);
        },
        20_000,
      );
    }

    it(`${runs} random schedules: no IDENTIFY over the budget of a period, inside a bucket's window or after a 4004, and no hang`, async () => {
      await randomSchedules('memory');
    }, 60_000);
  });

  describeWithRedis(
    'on the Redis queue, with a real redis-server',
    () => {
      beforeAll(async () => {
        env.redis = await RedisServer.start();
        await warmUp(env, ['redis']);
      }, 30_000);
      afterAll(async () => {
        await env.redis?.stop();
        delete env.redis;
      });

      for (const { what, schedule } of named('redis')) {
        it(
          what,
          async () => {
            await runFleetSchedule(schedule, env);
          },
          20_000,
        );
      }

      it(`${runs} random schedules (Redis restarts and FLUSHALL among the faults): no IDENTIFY over the budget of a period, inside a bucket's window or after a 4004, and no hang`, async () => {
        await randomSchedules('redis');
      }, 60_000);
    },
    describe,
    it,
  );
});
