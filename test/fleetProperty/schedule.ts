import fc from 'fast-check';

/** Where the fleet's identify turns and budget are kept. */
export type QueueKind = 'memory' | 'redis';

/** One thing that happens to a running fleet, from outside it. */
export type FleetStep =
  | { kind: 'wait'; ms: number }
  /** every socket dropped (1006): the shards RESUME */
  | { kind: 'kill' }
  /** op 9 d=false on every live socket: those shards IDENTIFY again */
  | { kind: 'refuse' }
  /** the server forgets every session and drops the sockets: each RESUME gets op 9 d=false */
  | { kind: 'refuseResumes' }
  /** 4004 on every live socket: the token is refused */
  | { kind: 'fatal' }
  /** the process restarts: stop({ keepSessions }), then a new manager on the same store and queue */
  | { kind: 'restart'; keepSessions: boolean }
  /** this process's wall clock (Date.now) jumps by `ms` */
  | { kind: 'clock'; ms: number }
  /** Redis loses everything: a restart without persistence, or FLUSHALL */
  | { kind: 'redis'; action: 'restart' | 'flushall' };

export interface FleetSchedule {
  queue: QueueKind;
  shardCount: number;
  /** `max_concurrency`: the number of buckets */
  maxConcurrency: number;
  /** the server's bucket window */
  windowMs: number;
  /** the server's budget: its first period ends `resetAfterMs` after it starts, the next lasts a day */
  budget: { total: number; remaining: number; resetAfterMs: number };
  /**
   * Between the queue reading GET /gateway/bot and the fleet starting, as after a deploy where
   * every shard resumed and the first IDENTIFY comes much later than the budget was read.
   */
  startDelayMs: number;
  /** the first this many connections get no HELLO (their shard times out and connects again) */
  helloStalls: number;
  /** Redis queue: each script reply reaches the fleet up to this late, at random (a slow network or Redis) */
  replyLagMs: number;
  steps: FleetStep[];
}

export const dayMs = 86_400_000;

const clockStep = fc.oneof(
  fc.integer({ min: 10, max: 5_000 }),
  // Close to a day: the period the queue computes from Date.now() would end within the schedule.
  fc.integer({ min: dayMs - 1_500, max: dayMs - 100 }),
  fc.integer({ min: 2 * dayMs, max: 3 * dayMs }),
  fc.integer({ min: -5_000, max: -10 }),
);

function stepArbitrary(queue: QueueKind): fc.Arbitrary<FleetStep> {
  const steps: fc.WeightedArbitrary<FleetStep>[] = [
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 250 }).map((ms): FleetStep => ({ kind: 'wait', ms })) },
    { weight: 2, arbitrary: fc.constant<FleetStep>({ kind: 'kill' }) },
    { weight: 3, arbitrary: fc.constant<FleetStep>({ kind: 'refuse' }) },
    { weight: 2, arbitrary: fc.constant<FleetStep>({ kind: 'refuseResumes' }) },
    { weight: 1, arbitrary: fc.constant<FleetStep>({ kind: 'fatal' }) },
    { weight: 2, arbitrary: fc.boolean().map((keepSessions): FleetStep => ({ kind: 'restart', keepSessions })) },
    { weight: 2, arbitrary: clockStep.map((ms): FleetStep => ({ kind: 'clock', ms })) },
  ];
  if (queue === 'redis') {
    steps.push({
      weight: 2,
      arbitrary: fc.constantFrom('restart' as const, 'flushall' as const).map((action): FleetStep => ({ kind: 'redis', action })),
    });
  }
  return fc.oneof(...steps);
}

/** Small fleets, short windows and small budgets, so that a schedule of a second or two spends them. */
export function fleetScheduleArbitrary(queues: readonly QueueKind[], maxSteps = 8): fc.Arbitrary<FleetSchedule> {
  return fc.constantFrom(...queues).chain((queue) =>
    fc.record({
      queue: fc.constant(queue),
      shardCount: fc.integer({ min: 2, max: 6 }),
      maxConcurrency: fc.integer({ min: 1, max: 3 }),
      windowMs: fc.integer({ min: 40, max: 100 }),
      budget: fc
        .record({ total: fc.integer({ min: 2, max: 8 }), spent: fc.nat(), resetAfterMs: fc.integer({ min: 300, max: 1_200 }) })
        .map(({ total, spent, resetAfterMs }) => ({ total, remaining: total - (spent % total), resetAfterMs })),
      startDelayMs: fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 500 })),
      helloStalls: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
      replyLagMs: queue === 'redis' ? fc.oneof(fc.constant(0), fc.integer({ min: 5, max: 40 })) : fc.constant(0),
      steps: fc.array(stepArbitrary(queue), { minLength: 1, maxLength: maxSteps }),
    }),
  );
}

export function describeFleetStep(step: FleetStep): string {
  switch (step.kind) {
    case 'wait':
      return `wait ${step.ms} ms`;
    case 'kill':
      return 'server drops every socket (1006)';
    case 'refuse':
      return 'server sends op 9 d=false on every socket';
    case 'refuseResumes':
      return 'server forgets every session and drops the sockets: RESUMEs refused';
    case 'fatal':
      return 'server closes every socket with 4004';
    case 'restart':
      return `process restart: stop(${step.keepSessions ? '{ keepSessions: true }' : ''}), new manager on the same store and queue`;
    case 'clock':
      return `wall clock steps ${step.ms >= 0 ? '+' : ''}${formatMs(step.ms)}`;
    case 'redis':
      return step.action === 'restart' ? 'redis-server restarts, empty' : 'Redis FLUSHALL';
  }
}

function formatMs(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 10_000) return `${ms} ms`;
  return `${(ms / 3_600_000).toFixed(3)} h`;
}

export function describeFleetSchedule(schedule: FleetSchedule): string {
  const { steps, ...settings } = schedule;
  return [JSON.stringify(settings), ...steps.map((step, i) => `  ${String(i + 1).padStart(2)}. ${describeFleetStep(step)}`)].join('\n');
}
