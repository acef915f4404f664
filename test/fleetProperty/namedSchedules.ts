import { dayMs, type FleetSchedule, type FleetStep } from './schedule.ts';

/** A schedule written out by hand: one way a fleet has overrun the budget or a window before. */
export interface NamedSchedule {
  what: string;
  schedule: FleetSchedule;
}

const base = { windowMs: 40, startDelayMs: 0, helloStalls: 0, replyLagMs: 0 } as const;
const wait = (ms: number): FleetStep => ({ kind: 'wait', ms });
const refuse: FleetStep = { kind: 'refuse' };

export const namedSchedules: NamedSchedule[] = [
  {
    what: 'a wall clock stepped forward by almost a day does not shorten the next budget period',
    schedule: {
      ...base,
      queue: 'memory',
      shardCount: 3,
      maxConcurrency: 3,
      budget: { total: 3, remaining: 3, resetAfterMs: 400 },
      // All three identify, the clock jumps, they all IDENTIFY again after the reset; then once more,
      // which a queue fooled into a second reset within the schedule would allow.
      steps: [wait(150), { kind: 'clock', ms: dayMs - 300 }, wait(50), refuse, wait(800), refuse],
    },
  },
  {
    what: 'a wall clock stepped forward by days does not refill the budget over and over',
    schedule: {
      ...base,
      queue: 'memory',
      shardCount: 3,
      maxConcurrency: 3,
      budget: { total: 2, remaining: 2, resetAfterMs: 300 },
      steps: [wait(100), { kind: 'clock', ms: 3 * dayMs }, refuse, wait(500), refuse],
    },
  },
  ...(['restart', 'flushall'] as const).map((action): NamedSchedule => ({
    what: `after ${action === 'restart' ? 'redis-server restarts empty' : 'FLUSHALL'} the day's spending is not counted again`,
    schedule: {
      ...base,
      queue: 'redis',
      shardCount: 3,
      maxConcurrency: 3,
      budget: { total: 3, remaining: 3, resetAfterMs: 1_500 },
      // The budget is spent; Redis forgets it; every shard is refused and must wait for the reset.
      steps: [wait(200), { kind: 'redis', action }, refuse, wait(400)],
    },
  })),
  {
    what: "the budget resets when the server's period ends, not one period after the first grant",
    schedule: {
      ...base,
      queue: 'redis',
      shardCount: 2,
      maxConcurrency: 2,
      budget: { total: 3, remaining: 3, resetAfterMs: 700 },
      // The fleet starts long after the budget was read: two IDENTIFYs before the server's reset,
      // one left over. After the reset two shards are refused twice: the server allows 3 in its new
      // period, a queue whose period started at the first grant allows the leftover plus 3.
      startDelayMs: 450,
      steps: [wait(300), refuse, wait(600), refuse, wait(200)],
    },
  },
  {
    what: 'IDENTIFYs of one bucket arrive a window apart when Redis replies are up to 40 ms late',
    schedule: {
      ...base,
      queue: 'redis',
      shardCount: 6,
      maxConcurrency: 1,
      budget: { total: 30, remaining: 30, resetAfterMs: 300 },
      // The queue's margin over the window is 50 ms: more than any reply is late here.
      replyLagMs: 40,
      steps: [wait(350), refuse, wait(350), refuse, wait(350), refuse, wait(350)],
    },
  },
  {
    what: 'a 4004 stops every IDENTIFY of the fleet: the shards not yet connected do not IDENTIFY either',
    schedule: {
      ...base,
      queue: 'memory',
      shardCount: 3,
      maxConcurrency: 1,
      budget: { total: 20, remaining: 20, resetAfterMs: 300 },
      // Shard 0's socket gets no HELLO, so shards 1 and 2 (same bucket) have not started when the
      // token is refused on it.
      helloStalls: 1,
      steps: [wait(100), { kind: 'fatal' }, wait(300)],
    },
  },
];
