import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { ReconnectOutput } from '../../src/machines/reconnectCourse.ts';
import { gatewayMachine, type GatewayContext } from '../../src/machines/gatewayMachine.ts';
import type { RecoveryTrigger } from '../../src/core/recovery.ts';
import { eventTypesOf, until, type StepPlan } from './plans.ts';
import { valueKey, type ModelStep, type TraversalSpec } from './modelPaths.ts';
import { arrangeOutcome } from './outcomes.ts';
import { heartbeatInterval, worldTimeouts, type World } from './world.ts';

/**
 * The gateway statechart as a model: which events the real world can produce in each state, and
 * how the world produces each one. The reconnect actors are black boxes here: their outcomes are
 * `xstate.done.actor.*` events, each made real by an arrangement for that reconnect's generation.
 */

const context = (snapshot: AnyMachineSnapshot) => snapshot.context as GatewayContext;

const crash = (type: string): EventObject[] => [{ type, error: new Error('injected crash') } as EventObject];

/** Faults that leave the drained socket open, so a drain of it can be made to fail. */
const leavesSocketOpen = (trigger: RecoveryTrigger | undefined) => trigger !== undefined && !['start', 'close'].includes(trigger.type);

function failures(snapshot: AnyMachineSnapshot, handshake: 'identify' | 'resume'): RecoveryTrigger[] {
  const triggers: RecoveryTrigger[] = [
    { type: 'helloTimeout' },
    { type: 'readyTimeout', handshake },
    { type: 'connectTimeout' },
    { type: 'close', code: 1006, reason: '' },
    { type: 'close', code: 4004, reason: '' },
    { type: 'invalidSession', resumable: false },
    { type: 'connectFailed', stage: 'create', cause: { message: 'injected' } },
  ];
  if (leavesSocketOpen(context(snapshot).plan?.trigger)) triggers.push({ type: 'drainFailed' });
  return triggers;
}

function outcomes(snapshot: AnyMachineSnapshot, handshake: 'identify' | 'resume'): ReconnectOutput[] {
  const ok: ReconnectOutput =
    handshake === 'identify'
      ? { ok: true, handshake, heartbeatInterval, session: { sessionId: 'model-session', resumeUrl: null } }
      : { ok: true, handshake, heartbeatInterval };
  return [ok, ...failures(snapshot, handshake).map((trigger) => ({ ok: false as const, trigger }))];
}

const variants: Record<string, (snapshot: AnyMachineSnapshot) => EventObject[]> = {
  start: () => [{ type: 'start' }],
  // `stop` while closing can only be made real while a close is held open, which a socket that has
  // already closed (a fatal close code) cannot be.
  stop: (s) => (valueKey(s.value) === 'closing' && context(s).failure !== null ? [] : [{ type: 'stop' }]),
  reconnect: () => [
    { type: 'reconnect', fresh: true },
    { type: 'reconnect', fresh: false },
  ],
  send: () => [{ type: 'send', id: 1, data: JSON.stringify({ op: 3, d: { status: 'online', since: null, activities: [], afk: false } }) }],
  // Only the ready session's socket closing is a step of the model; elsewhere a close is relayed or released (see `isRelay`).
  'socket.closed': (s) =>
    valueKey(s.value) === 'ready'
      ? [1006, 4000, 4007, 4004].map((code) => ({ type: 'socket.closed', generation: context(s).generation, code, reason: '' }))
      : [],
  'reconnect.openSocket': () => [],
  'reconnect.toSocket': () => [],
  'socket.*': () => [],
  'gateway.*': () => [],
  'gateway.reconnect': (s) => [{ type: 'gateway.reconnect', generation: context(s).generation }],
  'gateway.invalidSession': (s) =>
    [true, false].map((resumable) => ({ type: 'gateway.invalidSession', generation: context(s).generation, resumable })),
  'gateway.malformed': (s) => [{ type: 'gateway.malformed', generation: context(s).generation, reason: 'invalid JSON' }],
  'socket.zombie': (s) => [{ type: 'socket.zombie', generation: context(s).generation }],
  'xstate.after.stablePeriod.gateway.ready': () => [{ type: 'xstate.after.stablePeriod.gateway.ready' }],
  'xstate.done.actor.freshReconnect': (s) =>
    outcomes(s, 'identify').map((output) => ({ type: 'xstate.done.actor.freshReconnect', output, actorId: 'freshReconnect' })),
  'xstate.done.actor.resumeReconnect': (s) =>
    outcomes(s, 'resume').map((output) => ({ type: 'xstate.done.actor.resumeReconnect', output, actorId: 'resumeReconnect' })),
  // A running reconnect relays each of its snapshots (the gateway emits its phase); it needs no act.
  'xstate.snapshot.freshReconnect': () => [
    { type: 'xstate.snapshot.freshReconnect', snapshot: { status: 'active', value: 'draining' } } as EventObject,
  ],
  'xstate.snapshot.resumeReconnect': () => [
    { type: 'xstate.snapshot.resumeReconnect', snapshot: { status: 'active', value: 'draining' } } as EventObject,
  ],
  'xstate.error.actor.freshReconnect': () => crash('xstate.error.actor.freshReconnect'),
  'xstate.error.actor.resumeReconnect': () => crash('xstate.error.actor.resumeReconnect'),
  'xstate.error.actor.socket': () => crash('xstate.error.actor.socket'),
  'xstate.done.actor.drain': () => [{ type: 'xstate.done.actor.drain', output: { drained: true }, actorId: 'drain' } as EventObject],
  'xstate.error.actor.drain': () => crash('xstate.error.actor.drain'),
};

/**
 * The gateway's relays: a reconnect asking for its socket or commanding it, the socket's events
 * passed on to the running reconnect, a CLOSED socket's actor released outside `ready`. They make
 * no step of their own (the reconnect's steps stand for them), so the model does not plan them;
 * every real path through `connecting` and `closing` takes them, and the coverage check after the
 * played paths still demands each one.
 */
export function isRelay(transitionKey: string): boolean {
  return (
    /─(reconnect\.openSocket|reconnect\.toSocket|socket\.\*|gateway\.\*)\[/.test(transitionKey) ||
    /─socket\.closed\[\d+\]→ \(self\)$/.test(transitionKey)
  );
}

export const gatewaySpec: TraversalSpec = {
  machine: gatewayMachine.provide({
    actions: {
      commandSocket: () => {},
      sendPayload: () => {},
      sealLine: () => {},
      returnPayload: () => {},
      openSocket: () => {},
      retireSocket: () => {},
      tellSocketReady: () => {},
      relayToReconnect: () => {},
    },
  }),
  input: { url: 'ws://127.0.0.1:1/?v=10&encoding=json', timeouts: worldTimeouts },
  events: (snapshot) =>
    eventTypesOf(snapshot).flatMap((type) => {
      const make = variants[type];
      if (!make) throw new Error(`no model event for "${type}": teach test/model/gatewayModel.ts how the real world produces it`);
      return make(snapshot);
    }),
  // Only what changes what can happen next: a reconnect's cause matters for whether its drain can
  // be made to fail; two HELLO stalls or more all lead the next one to a fresh session.
  serializeState: (snapshot) => {
    const c = context(snapshot);
    const value = valueKey(snapshot.value);
    return [
      value,
      value.startsWith('connecting') && leavesSocketOpen(c.plan?.trigger) ? 'socket-open' : '',
      c.session ? 'session' : 'none',
      `hello${Math.min(c.helloStalls, 2)}`,
      `ready${c.readyFailures}`,
      c.failure ? 'failure' : 'ok',
    ].join('|');
  },
};

const userOrServerActs: Record<string, (world: World, event: EventObject) => void> = {
  start: (w) => w.actor.send({ type: 'start' }),
  stop: (w) => w.actor.send({ type: 'stop' }),
  reconnect: (w, e) => w.actor.send(e as never),
  send: (w, e) => w.actor.send(e as never),
  'socket.closed': (w, e) => {
    const { code } = e as unknown as { code: number };
    if (code === 1006) w.server.kill();
    else w.server.closeWith(code);
  },
  'gateway.reconnect': (w) => w.server.requestReconnect(),
  'gateway.invalidSession': (w, e) => w.server.invalidateSession((e as unknown as { resumable: boolean }).resumable),
  'gateway.malformed': (w) => w.server.sendRaw('{"op":'),
};

/** How the world makes each step of a gateway path happen. */
export function planGatewayStep(world: World, step: ModelStep, next: ModelStep | undefined): StepPlan {
  const { type } = step.event;
  const generation = context(step.from).generation;
  const from = valueKey(step.from.value);
  const plan: StepPlan = {};

  const act = userOrServerActs[type];
  if (act) {
    plan.act = () => act(world, step.event);
    if (from.startsWith('connecting')) {
      // Keep the reconnect in flight until the act lands: its HELLO is held back, and sent by hand
      // afterwards when the path goes on with the same reconnect. Acting once its socket is open
      // makes the act meet the same situation on every run.
      world.arrange(generation).stallHello = true;
      const child = `${from === 'connecting.fresh' ? 'freshReconnect' : 'resumeReconnect'}#${generation}`;
      plan.before = () =>
        until(
          () => world.childHistory(child).includes('handshake.awaitingHello'),
          () => `${child} never reached handshake.awaitingHello: ${world.childHistory(child).join(' → ')}`,
        );
      const nextIsOutcome = next && /^xstate\.done\.actor\.(fresh|resume)Reconnect$/.test(next.event.type);
      const nextOutcome = nextIsOutcome ? (next.event as unknown as { output: ReconnectOutput }).output : undefined;
      const nextNeedsStall = nextOutcome && !nextOutcome.ok && nextOutcome.trigger.type === 'helloTimeout';
      plan.afterAct = () => {
        if (world.gatewayKey() === `${from}#${generation}` && !nextNeedsStall) world.releaseHello();
      };
    }
  } else if (type.startsWith('xstate.done.actor.') && type.endsWith('Reconnect')) {
    arrangeOutcome(world, generation, (step.event as unknown as { output: ReconnectOutput }).output);
  } else if (type === 'xstate.error.actor.freshReconnect' || type === 'xstate.error.actor.resumeReconnect') {
    const arrangement = world.arrange(generation);
    (arrangement.crash ??= new Set()).add(type.endsWith('freshReconnect') ? 'freshReconnect' : 'resumeReconnect');
  } else if (type === 'xstate.error.actor.socket') {
    (world.arrange(generation).crash ??= new Set()).add('socket');
  } else if (type === 'socket.zombie') {
    world.arrange(generation).dropAcksFromBeat = 1;
  } else if (type === 'xstate.error.actor.drain') {
    world.closingDrain.crash = true;
  }

  // A `stop` while closing needs the close held open long enough to send it.
  if (next && next.event.type === 'stop' && valueKey(next.from.value) === 'closing') world.closingDrain.close = 'ignore';
  return plan;
}
