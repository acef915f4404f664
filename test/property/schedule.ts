import fc from 'fast-check';
import type { BackoffOptions, Timeouts } from '../../src/types.ts';
import type { MalformedKind } from '../support/fakeServer.ts';

/** One thing that happens to the engine: time passing, a server or network fault, or a user call. */
export type Step =
  | { kind: 'advance'; ms: number }
  | { kind: 'close'; code: number }
  | { kind: 'drop' }
  | { kind: 'op7' }
  | { kind: 'op9'; resumable: boolean }
  | { kind: 'stallOpen' | 'stallHello' | 'stallReady'; count: number }
  | { kind: 'dropAcks'; on: boolean }
  | { kind: 'stick'; terminateToo: boolean }
  | { kind: 'unstick' }
  | { kind: 'malformed'; frame: MalformedKind }
  | { kind: 'heartbeatRequest' }
  | { kind: 'dispatch'; count: number }
  | { kind: 'reconnect'; fresh: boolean; observe: boolean }
  | { kind: 'send'; count: number }
  | { kind: 'stop'; observe: boolean };

export type ResumeUrlChoice = 'allowed' | 'none' | 'refused';

export interface Schedule {
  /** through createGateway() (promises, error reports) or straight through the statechart (faster) */
  api: 'machine' | 'gateway';
  /** seeds the Math.random stub (backoff jitter, first heartbeat) so a schedule replays exactly */
  seed: number;
  latency: number;
  heartbeatInterval: number;
  timeouts: Timeouts;
  backoff: BackoffOptions;
  resumeUrl: ResumeUrlChoice;
  replayOverlap: number;
  /** the API's outbox limits: the defaults, or tight ones that user sends run into */
  outbox: 'default' | 'tight';
  /** whether the test keeps a handler on start()'s promise; an ignored one must not go unhandled */
  observeStart: boolean;
  steps: Step[];
}

export const resumableCodes = [1000, 1001, 4000, 4001, 4002, 4005, 4008];
export const freshCodes = [4003, 4007, 4009];
export const fatalCodes = [4004, 4010, 4011, 4012, 4013, 4014];

const advance = fc
  .oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 51, max: 2_000 }), fc.integer({ min: 2_001, max: 70_000 }))
  .map((ms): Step => ({ kind: 'advance', ms }));
const count = fc.integer({ min: 1, max: 3 });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: advance },
  { weight: 3, arbitrary: fc.constantFrom(...resumableCodes, ...freshCodes).map((code): Step => ({ kind: 'close', code })) },
  { weight: 1, arbitrary: fc.constantFrom(...fatalCodes).map((code): Step => ({ kind: 'close', code })) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'drop' }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'op7' }) },
  { weight: 2, arbitrary: fc.boolean().map((resumable): Step => ({ kind: 'op9', resumable })) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('stallOpen', 'stallHello', 'stallReady'), count }).map((s) => s as Step),
  },
  { weight: 1, arbitrary: fc.boolean().map((on): Step => ({ kind: 'dropAcks', on })) },
  { weight: 1, arbitrary: fc.boolean().map((terminateToo): Step => ({ kind: 'stick', terminateToo })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'unstick' }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<MalformedKind>('json', 'binary', 'op', 'hello').map((frame): Step => ({ kind: 'malformed', frame })),
  },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'heartbeatRequest' }) },
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 5 }).map((n): Step => ({ kind: 'dispatch', count: n })) },
  { weight: 3, arbitrary: fc.record({ fresh: fc.boolean(), observe: fc.boolean() }).map((r): Step => ({ kind: 'reconnect', ...r })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 6 }).map((n): Step => ({ kind: 'send', count: n })) },
  { weight: 1, arbitrary: fc.boolean().map((observe): Step => ({ kind: 'stop', observe })) },
);

// Each timeout is drawn from short and realistic values, so their orderings vary between schedules.
const timeouts: fc.Arbitrary<Timeouts> = fc.record({
  connect: fc.constantFrom(300, 10_000),
  hello: fc.constantFrom(500, 30_000),
  ready: fc.constantFrom(400, 15_000),
  drain: fc.constantFrom(0, 200, 5_000),
  terminateGrace: fc.constantFrom(0, 50, 1_000),
  stable: fc.constantFrom(0, 500, 5_000),
});

const backoff: fc.Arbitrary<BackoffOptions> = fc
  .record({
    baseMs: fc.constantFrom(0, 100, 1_000),
    maxMs: fc.constantFrom(0, 2_000, 60_000),
    invalidSessionMinMs: fc.constantFrom(0, 1_000),
    spread: fc.constantFrom(0, 4_000),
  })
  .map(({ spread, ...rest }) => ({ ...rest, invalidSessionMaxMs: rest.invalidSessionMinMs + spread }));

export function scheduleArbitrary(maxSteps = 30): fc.Arbitrary<Schedule> {
  return fc.record({
    api: fc.oneof({ weight: 3, arbitrary: fc.constant('machine' as const) }, { weight: 1, arbitrary: fc.constant('gateway' as const) }),
    seed: fc.integer(),
    latency: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
    // Short beats interleave with every other timer but cost a transition each: kept to a quarter.
    heartbeatInterval: fc.oneof({ weight: 3, arbitrary: fc.constant(41_250) }, { weight: 1, arbitrary: fc.constant(2_000) }),
    timeouts,
    backoff,
    resumeUrl: fc.constantFrom<ResumeUrlChoice>('allowed', 'none', 'refused'),
    replayOverlap: fc.integer({ min: 0, max: 3 }),
    outbox: fc.constantFrom('default' as const, 'tight' as const),
    observeStart: fc.boolean(),
    steps: fc.array(step, { minLength: 1, maxLength: maxSteps, size: 'max' }),
  });
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'advance':
      return `advance ${step.ms} ms`;
    case 'close':
      return `server closes with ${step.code}`;
    case 'drop':
      return 'network drops the socket (1006)';
    case 'op7':
      return 'server sends op 7 RECONNECT';
    case 'op9':
      return `server sends op 9 INVALID_SESSION d=${step.resumable}`;
    case 'stallOpen':
      return `next ${step.count} socket(s) never open`;
    case 'stallHello':
      return `next ${step.count} connection(s) get no HELLO`;
    case 'stallReady':
      return `next ${step.count} IDENTIFY/RESUME get no answer`;
    case 'dropAcks':
      return `server ${step.on ? 'drops' : 'acknowledges'} heartbeats`;
    case 'stick':
      return `sockets ignore close()${step.terminateToo ? ' and terminate()' : ''}`;
    case 'unstick':
      return 'stuck sockets finally close';
    case 'malformed':
      return `server sends a malformed frame (${step.frame})`;
    case 'heartbeatRequest':
      return 'server sends op 1 HEARTBEAT';
    case 'dispatch':
      return `server dispatches ${step.count} event(s) per session`;
    case 'reconnect':
      return `user: reconnect(${step.fresh ? '{ fresh: true }' : ''})${step.observe ? '' : ', promise ignored'}`;
    case 'send':
      return `user: send() × ${step.count}`;
    case 'stop':
      return `user: stop()${step.observe ? '' : ', promise ignored'}`;
  }
}

/** A schedule as a reader wants it in a failure report: its settings, then one step a line. */
export function describeSchedule(schedule: Schedule): string {
  const { steps, ...settings } = schedule;
  return [JSON.stringify(settings), ...steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${describeStep(s)}`)].join('\n');
}
