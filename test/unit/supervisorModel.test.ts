import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { assign, createActor, setup, type AnyActorRef, type AnyMachineSnapshot, type EventObject } from 'xstate';
import { connectionOf, type ConnectionRef } from '../../src/connection/connection.ts';
import type { GatewayInput, GatewayOutput } from '../../src/machines/gatewayMachine.ts';
import { supervisorMachine, type SupervisorContext, type SupervisorInput } from '../../src/machines/supervisorMachine.ts';
import { CoverageRecorder, requireFullCoverage } from '../model/coverage.ts';
import { coveringPaths, step as modelStep, valueKey, type ModelPath, type ModelStep, type TraversalSpec } from '../model/modelPaths.ts';
import { eventTypesOf } from '../model/plans.ts';
import { jsonRoundTripProblem } from '../model/plainData.ts';
import { FakeSocketFactory, type FakeSocket } from '../support/fakeSocket.ts';
import { ManualClock } from '../support/manualClock.ts';

/**
 * Model-based test of the supervisor statechart. xstate/graph walks the machine with the events
 * the world can produce in each state (start, stop and retry from the user; each way a run's
 * gateway can end; the window and cooldown timers, the cooldown and retry each seeing the previous
 * run's socket still live or CLOSED); the paths that together take every transition are played on
 * a running supervisor whose `gateway` child is a test double, under a manual clock. After every
 * step the real supervisor must have taken the model's transitions into the model's state, with
 * the model's context (plain data, unchanged by a JSON round trip); each run's gateway must have
 * been started and stopped as the model says, a socket found live terminated once more, and no run
 * may have opened its socket while an earlier run's was still live. The supervisor's rules are also
 * checked on their own (the model is the machine, and agrees with any change to it). Besides the
 * covering paths, every event is played in every distinct state the model reaches.
 */

const doubleFailure = 'a bug in the gateway';

type DoubleEvent = { type: 'start' } | { type: 'stop' } | { type: 'double.end'; output: GatewayOutput } | { type: 'double.crash' };

/** What a played run's gateway does to the world; nothing, in the model's traversal. */
interface DoubleWorld {
  started(connection: ConnectionRef): void;
  stopped(connection: ConnectionRef): void;
}

/**
 * A stand-in for the gateway statechart with its contract: `start` opens a socket on the run's
 * connection, `stop` asks it to close (the drain lasts until the test ends the run), and the run
 * ends with the GatewayOutput the test chooses. `double.crash` makes the actor itself fail, as a bug
 * in the gateway would (XState turns an action that throws into the actor's error).
 */
const gatewayDoubleOf = (world: DoubleWorld | null) =>
  // Typed as the gateway for provide(): it shares the gateway's input, events and output, not its context.
  setup({
    types: {
      input: {} as GatewayInput,
      context: {} as { connection: ConnectionRef; output: GatewayOutput },
      events: {} as DoubleEvent,
      output: {} as GatewayOutput,
    },
    actions: {
      openSocket: ({ context }) => world?.started(context.connection),
      closeSocket: ({ context }) => world?.stopped(context.connection),
      crash: () => {
        throw new Error(doubleFailure);
      },
    },
  }).createMachine({
    id: 'gatewayDouble',
    context: ({ input }) => ({ connection: input.connection!, output: { status: 'stopped' } }),
    initial: 'idle',
    states: {
      idle: { on: { start: { target: 'running', actions: 'openSocket' } } },
      running: { on: { stop: { target: 'draining', actions: 'closeSocket' } } },
      draining: {},
      ended: { type: 'final' },
    },
    on: {
      'double.end': { target: '.ended', actions: assign({ output: ({ event }) => event.output }) },
      'double.crash': { actions: 'crash' },
    },
    output: ({ context }) => context.output,
  }) as never;

const drainFailed: GatewayOutput = {
  status: 'failed',
  failure: { message: 'the old socket never closed', trigger: { type: 'drainFailed' } },
};
const fatal: GatewayOutput = {
  status: 'failed',
  failure: { message: 'authentication failed (4004)', trigger: { type: 'close', code: 4004 } },
};
const endings: GatewayOutput[] = [{ status: 'stopped' }, drainFailed, fatal];

type PreviousSocket = 'live' | 'closed';
const cooldownEvent = 'xstate.after.cooldown.supervisor.coolingDown';
const windowEvent = 'xstate.after.window.supervisor.running.active';

const budgetSpent = (c: SupervisorContext) => c.restarts >= (c.retrying ? Math.max(1, c.options.maxRestarts) : c.options.maxRestarts);

/**
 * The world's events in a state. The previous run's socket is live from the run's end until a
 * cooldown or retry finds it CLOSED, which always starts the next run: so whether it is live is
 * part of the event that looks at it, never of the state.
 */
function modelEvents(snapshot: AnyMachineSnapshot): EventObject[] {
  const context = snapshot.context as SupervisorContext;
  const sockets: PreviousSocket[] = ['live', 'closed'];
  return eventTypesOf(snapshot).flatMap((type): EventObject[] => {
    switch (type) {
      case 'start':
      case 'stop':
        return [{ type }];
      case 'retry':
        return sockets.map((previousSocket) => ({ type, previousSocket }));
      case 'xstate.done.actor.gateway':
        return endings.map((output) => ({ type, output, actorId: 'gateway' }));
      case 'xstate.error.actor.gateway':
        return [{ type, error: new Error(doubleFailure), actorId: 'gateway' } as EventObject];
      // With the budget spent the socket is not looked at: it stays as the run left it.
      case cooldownEvent:
        return budgetSpent(context) ? [{ type }] : sockets.map((previousSocket) => ({ type, previousSocket }));
      // The window timer fires once per run; firing it with a full budget changes nothing.
      case windowEvent:
        return context.restarts > 0 ? [{ type }] : [];
      default:
        throw new Error(`no model event for "${type}": teach test/unit/supervisorModel.test.ts how the world produces it`);
    }
  });
}

/** Only what changes what can happen next: where, the budget used, and a pending retry's grant. */
function serializeState(snapshot: AnyMachineSnapshot): string {
  const c = snapshot.context as SupervisorContext;
  return `${valueKey(snapshot.value)}|r${c.restarts}${c.retrying ? '|retrying' : ''}`;
}

const previousSocketOf = (event: EventObject) => (event as { previousSocket?: PreviousSocket }).previousSocket;

/** A step's event as the world sees it: which output a run ended with, what the socket was found in. */
function describeEvent(event: EventObject): string {
  const socket = previousSocketOf(event);
  const seen = socket ? ` (socket ${socket})` : '';
  if (event.type === cooldownEvent) return `cooldown${seen}`;
  if (event.type === windowEvent) return 'window';
  if (event.type === 'xstate.error.actor.gateway') return 'gateway crashed';
  if (event.type === 'xstate.done.actor.gateway') {
    const { output } = event as EventObject & { output: GatewayOutput };
    return `gateway ${output.status === 'stopped' ? 'stopped' : output === fatal ? 'failed fatally' : 'failed'}`;
  }
  return `${event.type}${seen}`;
}

const describeSteps = (events: readonly EventObject[], values: readonly unknown[]) =>
  events.map((event, index) => `${describeEvent(event)} → ${valueKey(values[index])}`).join(' | ');
const describeModelPath = (path: ModelPath) =>
  describeSteps(
    path.steps.map((s) => s.event),
    path.steps.map((s) => s.to.value),
  );

/** The supervisor as traversed: the socket it looks at is the event's, and terminating it is the world's business. */
const modelMachine = supervisorMachine.provide({
  actors: { gateway: gatewayDoubleOf(null) },
  guards: { previousSocketStillLive: ({ event }) => previousSocketOf(event) === 'live' },
  actions: { terminatePrevious: () => {} },
});

const gateway = { url: 'ws://127.0.0.1:1/' };
/** A breaker that opens at once (only retry's one attempt), and one that allows two restarts. */
const inputs: SupervisorInput[] = [0, 2].map((maxRestarts) => ({
  gateway,
  supervisor: { maxRestarts, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 300 },
}));
const specs: TraversalSpec[] = inputs.map((input) => ({ machine: modelMachine, input, events: modelEvents, serializeState }));

const total = new CoverageRecorder();
afterEach(() => vi.restoreAllMocks());

/** Without the connection: the model's runs open connections of their own. */
const comparable = ({ connection: _connection, ...rest }: SupervisorContext) => rest;

/** The cooldown before the next restart, as the supervisor draws it with Math.random() giving `random`. */
function cooldownMs(context: SupervisorContext, random: number): number {
  const { cooldownBaseMs, cooldownMaxMs } = context.options;
  const ceiling = Math.min(cooldownMaxMs, cooldownBaseMs * 2 ** context.restarts);
  return ceiling / 2 + (random * ceiling) / 2;
}

/**
 * The supervisor's promises, checked on the real actor independently of the model (which is the
 * machine itself, and so agrees with any change to it): what each kind of step may lead to.
 */
function brokenRules(event: EventObject, fromValue: string, from: SupervisorContext, toValue: string, to: SupervisorContext): string[] {
  const problems: string[] = [];
  const limit = Math.max(from.retrying ? 1 : 0, from.options.maxRestarts);
  if (to.restarts > Math.max(1, to.options.maxRestarts)) problems.push(`restarts ${to.restarts} past the budget`);
  if (toValue === 'open' && from.restarts < limit) problems.push(`the breaker opened with ${from.restarts} of ${limit} restarts used`);
  if (fromValue === 'coolingDown' && toValue.startsWith('running') && from.restarts >= limit)
    problems.push('restarted with the budget spent');
  if (toValue.startsWith('running') && !fromValue.startsWith('running') && to.runs !== from.runs + 1)
    problems.push(`run ${to.runs} after run ${from.runs}`);
  if (event.type === 'retry' && to.restarts !== 0) problems.push('retry did not refill the budget');
  if (to.runs > from.runs && to.retrying) problems.push('the attempt a retry bought outlived the run it started');
  if (event.type === windowEvent && to.restarts !== 0) problems.push('a run that lasted windowMs did not refill the budget');
  if (event.type === 'stop' && !['stopped', 'running.stopping'].includes(toValue)) problems.push(`stop led to ${toValue}`);
  if (fromValue === 'running.stopping' && toValue !== 'stopped') problems.push(`a stopping run ended in ${toValue}`);
  if (event.type === 'xstate.done.actor.gateway') {
    const { output } = event as EventObject & { output: GatewayOutput };
    const expected =
      fromValue === 'running.stopping' || output.status === 'stopped' ? 'stopped' : output === fatal ? 'failed' : 'coolingDown';
    if (toValue !== expected)
      problems.push(`a run that ended ${output.status === 'failed' ? output.failure.message : 'stopped'} led to ${toValue}`);
    if (!isDeepStrictEqual(to.lastFailure, output.status === 'failed' ? output.failure : null))
      problems.push("lastFailure is not the run's");
  }
  if (event.type === 'xstate.error.actor.gateway' && !to.lastFailure?.message.includes(doubleFailure))
    problems.push('a crash left no reason');
  return problems;
}

/**
 * Plays a model path on a running supervisor: each step's event is produced as the world would
 * (a user's call, the run's gateway ending or crashing, a timer falling due on the clock), then the
 * supervisor must have taken the model's transitions and show its state and context.
 */
function play(path: ModelPath, input: SupervisorInput, random: number) {
  vi.spyOn(Math, 'random').mockReturnValue(random);
  const clock = new ManualClock();
  const recorder = new CoverageRecorder();
  // Sockets that close only when the test says so: a close() or terminate() leaves them CLOSING.
  const sockets = new FakeSocketFactory();
  sockets.behaviour = { onClose: 'hangs', onTerminate: 'hangs' };
  const runOf = new Map<ConnectionRef, number>();
  const commands: string[] = [];
  const world: DoubleWorld = {
    started: (connection) => {
      commands.push(`${runOf.get(connection)}:start`);
      (connectionOf(connection).line.open(() => sockets.create(input.gateway.url)) as FakeSocket).open();
    },
    stopped: (connection) => {
      commands.push(`${runOf.get(connection)}:stop`);
      connectionOf(connection).line.socket?.close(1000);
    },
  };
  const actor = createActor(supervisorMachine.provide({ actors: { gateway: gatewayDoubleOf(world) } }), {
    input,
    clock,
    inspect: recorder.observe,
  });
  actor.on('run', ({ run, connection }) => {
    if (connection) runOf.set(connection, run);
  });
  const contextProblems: string[] = [];
  const errors: unknown[] = [];
  actor.subscribe({
    next: (snapshot) => {
      const problem = jsonRoundTripProblem(snapshot.context);
      if (problem) contextProblems.push(`${valueKey(snapshot.value)}: ${problem}`);
    },
    error: (error) => errors.push(error),
  });
  actor.start();

  const previousSocket = () => {
    const { connection } = actor.getSnapshot().context;
    return connection ? (connectionOf(connection).line.socket as FakeSocket | undefined) : undefined;
  };
  /** The world as the event says the supervisor finds it: the previous socket still live, or CLOSED. */
  const arrangePreviousSocket = (event: EventObject, where: string) => {
    const socket = previousSocket();
    expect(socket?.isLive, `${where}: the previous run left its socket live`).toBe(true);
    if (previousSocketOf(event) === 'closed') socket!.finishClose(1006);
  };
  const terminates = () => sockets.sockets.flatMap((socket) => socket.calls).filter((call) => call.method === 'terminate').length;

  const expectedCommands: string[] = [];
  let expectedTerminates = 0;
  try {
    expect(valueKey(actor.getSnapshot().value)).toBe(valueKey(path.steps[0]!.from.value));
    expect(comparable(actor.getSnapshot().context)).toEqual(comparable(path.steps[0]!.from.context as SupervisorContext));
    for (const [index, step] of path.steps.entries()) {
      const { event } = step;
      const where = `step ${index + 1} (${describeEvent(event)}) of ${describeModelPath(path)}`;
      const from = step.from.context as SupervisorContext;
      const to = step.to.context as SupervisorContext;
      const logFrom = recorder.log.length;
      const startedAt = clock.now();
      const child = actor.getSnapshot().children.gateway as AnyActorRef | undefined;
      switch (event.type) {
        case 'start':
        case 'stop':
          actor.send({ type: event.type });
          break;
        case 'retry':
          arrangePreviousSocket(event, where);
          actor.send({ type: 'retry' });
          break;
        case 'xstate.done.actor.gateway': {
          const { output } = event as EventObject & { output: GatewayOutput };
          // A gateway that stopped has closed its socket; one that failed asked it to close, and it may hang.
          if (output.status === 'stopped') previousSocket()?.finishClose(1000);
          else previousSocket()?.close(4000);
          child!.send({ type: 'double.end', output });
          break;
        }
        case 'xstate.error.actor.gateway':
          child!.send({ type: 'double.crash' });
          break;
        case cooldownEvent:
          if (previousSocketOf(event)) arrangePreviousSocket(event, where);
          clock.runUntil(() => recorder.log.length > logFrom, 60_000);
          expect(clock.now() - startedAt, `${where}: cooldown`).toBeCloseTo(cooldownMs(from, random), 9);
          break;
        case windowEvent:
          clock.runUntil(() => recorder.log.length > logFrom, 60_000);
          expect(clock.now() - startedAt, `${where}: window`).toBe(from.options.windowMs);
          break;
        default:
          throw new Error(`${where}: no way to play it`);
      }

      const snapshot = actor.getSnapshot();
      const taken = recorder.log.slice(logFrom).filter((key) => key.startsWith('supervisor.'));
      expect(taken, where).toEqual(step.keys);
      expect(valueKey(snapshot.value), where).toBe(valueKey(step.to.value));
      expect(comparable(snapshot.context), where).toEqual(comparable(to));
      expect(jsonRoundTripProblem(snapshot.context), where).toBeNull();
      expect(brokenRules(event, valueKey(step.from.value), from, valueKey(snapshot.value), snapshot.context), where).toEqual([]);

      // Each run's gateway got one start, and a stop only when the supervisor was stopped while it ran.
      if (to.runs > from.runs) expectedCommands.push(`${to.runs}:start`);
      if (event.type === 'stop' && valueKey(step.from.value) === 'running.active') expectedCommands.push(`${from.runs}:stop`);
      expect(commands, where).toEqual(expectedCommands);
      // The running gateway was given the connection the supervisor holds, a new one per run.
      expect(runOf.size, where).toBe(to.runs);
      if (snapshot.context.connection) expect(runOf.get(snapshot.context.connection), where).toBe(to.runs);
      // A cooldown or retry that finds the previous socket still live terminates it once more.
      if (previousSocketOf(event) === 'live') expectedTerminates += 1;
      expect(terminates(), where).toBe(expectedTerminates);
      // The restart rule: no run opened its socket while an earlier run's was still live.
      expect(sockets.violations, where).toEqual([]);
      expect(sockets.liveCount, where).toBeLessThanOrEqual(1);
    }
    expect(contextProblems).toEqual([]);
    expect(errors).toEqual([]);
  } finally {
    actor.stop();
    total.merge(recorder);
  }
}

/**
 * Every event the world can produce in every distinct state of the model, each after the shortest
 * path there: the covering paths take each transition once, these take it with every variant (a
 * stopping run that fails, a fatal close while stopping, a crash with the budget spent...).
 */
function everyEdge(spec: TraversalSpec): ModelPath[] {
  const events = (snapshot: AnyMachineSnapshot) => (snapshot.status === 'active' ? modelEvents(snapshot) : []);
  const statePaths = getShortestPaths(spec.machine, {
    input: spec.input,
    events: events as never,
    serializeState: (snapshot) => serializeState(snapshot as AnyMachineSnapshot),
  });
  return statePaths.flatMap((statePath) => {
    const prefix: ModelStep[] = [];
    let at = statePath.steps[0]!.state as AnyMachineSnapshot;
    for (const { event } of statePath.steps.slice(1)) {
      prefix.push(modelStep(spec.machine, at, event));
      at = prefix.at(-1)!.to;
    }
    return events(at).map((event) => ({ machine: spec.machine.id, steps: [...prefix, modelStep(spec.machine, at, event)] }));
  });
}

describe('supervisor statechart (model-based)', () => {
  for (const [index, spec] of specs.entries()) {
    const { paths, unreachable } = coveringPaths(spec);
    const input = inputs[index]!;
    describe(`maxRestarts ${input.supervisor!.maxRestarts}`, () => {
      it('the model reaches every transition', () => {
        expect(unreachable).toEqual([]);
      });
      it.each(paths.map((path, n) => [describeModelPath(path), path, [0, 0.5, 0.999][n % 3]!] as const))('%s', (_name, path, random) =>
        play(path, input, random),
      );
      it('every event in every distinct state (place in the budget, a pending retry) does on the real actor what the model does', () => {
        const edges = everyEdge(spec);
        expect(edges.length).toBeGreaterThan(paths.length);
        console.log(`supervisor model, maxRestarts ${input.supervisor!.maxRestarts}: ${edges.length} edges played`);
        for (const [n, path] of edges.entries()) play(path, input, [0, 0.5, 0.999][n % 3]!);
      });
    });
  }
});

afterAll(() => requireFullCoverage('supervisor model', supervisorMachine, total));
