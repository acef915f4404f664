import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, fromCallback, setup, type AnyActorLogic, type AnyActorRef } from 'xstate';
import type { GatewayInput, GatewayOutput } from '../../src/machines/gatewayMachine.ts';
import { supervisorMachine, type SupervisorOptions } from '../../src/machines/supervisorMachine.ts';
import { recordStates } from '../support/actors.ts';
import { connectionOf, type ConnectionRef } from '../../src/connection/connection.ts';
import { ManualClock } from '../support/manualClock.ts';
import { CoverageRecorder } from '../model/coverage.ts';
import { jsonRoundTripProblem } from '../model/plainData.ts';
import { allStates, allTransitions } from '../model/transitions.ts';

type FakeGatewayEvent = { type: 'start' } | { type: 'stop' } | { type: 'test.end'; output: GatewayOutput };

/**
 * A stand-in for the gateway statechart with the same contract: started and stopped by events,
 * done with a GatewayOutput. The test ends a run with the output it wants (`test.end`); one that
 * is `slowToStop` drains after a stop until the test ends it.
 */
const fakeGatewayOf = (slowToStop: boolean) =>
  setup({
    types: {
      input: {} as GatewayInput,
      context: {} as { connection: ConnectionRef | null; url: string; output: GatewayOutput; stopped: boolean },
      events: {} as FakeGatewayEvent,
      output: {} as GatewayOutput,
    },
  }).createMachine({
    id: 'fakeGateway',
    context: ({ input }) => ({ connection: input.connection ?? null, url: input.url, output: { status: 'stopped' }, stopped: false }),
    initial: 'idle',
    states: {
      idle: { on: { start: 'running', stop: 'ended' } },
      running: {
        on: {
          stop: { target: slowToStop ? 'draining' : 'ended', actions: assign({ stopped: true }) },
          'test.end': { target: 'ended', actions: assign({ output: ({ event }) => event.output }) },
        },
      },
      draining: {
        on: { 'test.end': { target: 'ended', actions: assign({ output: ({ event }) => event.output }) } },
      },
      ended: { type: 'final' },
    },
    output: ({ context }) => context.output,
  });
const fakeGateway = fakeGatewayOf(false);

const coverage = new CoverageRecorder();
const defaultOptions: SupervisorOptions = { maxRestarts: 2, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 1_000 };

interface Run {
  run: number;
  connection: ConnectionRef;
  actor: AnyActorRef;
  /** ends the run's gateway with `output`; `socketLive` says whether its socket is still live after */
  end: (output: GatewayOutput, socketLive?: () => boolean) => void;
}

/**
 * The supervisor statechart with a stand-in gateway: each run is announced (the `run` emit) with
 * its connection, whose socket the test says is live or not. Every snapshot's context is checked
 * to be plain data, and the transitions taken feed the coverage check below.
 */
function supervised(options: SupervisorOptions = defaultOptions, gateway: AnyActorLogic = fakeGateway) {
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  const clock = new ManualClock();
  const runs: Run[] = [];
  const terminated: number[] = [];
  const contextProblems: string[] = [];
  const actor = createActor(supervisorMachine.provide({ actors: { gateway: gateway as typeof fakeGateway as never } }), {
    input: { gateway: { url: 'ws://127.0.0.1:1/' }, supervisor: options },
    clock,
    inspect: coverage.observe,
  });
  actor.on('run', ({ run, connection }) => {
    const child = actor.getSnapshot().children.gateway as AnyActorRef | undefined;
    if (!connection || !child) throw new Error('a run was announced without its connection and gateway');
    const { line } = connectionOf(connection);
    let live = () => false;
    Object.defineProperty(line, 'isLive', { get: () => live() });
    Object.defineProperty(line, 'socket', { get: () => ({ terminate: () => terminated.push(run) }) });
    runs.push({
      run,
      connection,
      actor: child,
      end: (output, socketLive = () => false) => {
        live = socketLive;
        child.send({ type: 'test.end', output });
      },
    });
  });
  actor.subscribe({
    next: (snapshot) => {
      const problem = jsonRoundTripProblem(snapshot.context);
      if (problem) contextProblems.push(problem);
    },
    error: () => {},
  });
  const states = recordStates(actor);
  actor.start();
  return { actor, clock, runs, states, terminated, contextProblems };
}

const drainFailed: GatewayOutput = {
  status: 'failed',
  failure: { message: 'old socket never closed', trigger: { type: 'drainFailed' } },
};
const fatal: GatewayOutput = {
  status: 'failed',
  failure: { message: 'authentication failed (4004)', trigger: { type: 'close', code: 4004 } },
};

afterEach(() => vi.restoreAllMocks());

describe('supervisor statechart', () => {
  it('restarts a failed gateway after a cooldown, and opens after maxRestarts', () => {
    const { actor, clock, runs, states, contextProblems } = supervised();
    actor.send({ type: 'start' });
    runs[0]!.end(drainFailed);
    // cooldown for restart 0: between 50 and 100 ms; random 0.5 → 75
    clock.advance(74);
    expect(runs).toHaveLength(1);
    clock.advance(1);
    expect(runs).toHaveLength(2);
    runs[1]!.end(drainFailed);
    clock.advance(150); // restart 1: 100..200 → 150
    runs[2]!.end(drainFailed);
    clock.advance(1_000);
    expect(runs).toHaveLength(3);
    expect(states).toEqual([
      'idle',
      'running.active',
      'coolingDown',
      'running.active',
      'coolingDown',
      'running.active',
      'coolingDown',
      'open',
    ]);
    expect(actor.getSnapshot().context).toMatchObject({ restarts: 2, runs: 3, lastFailure: drainFailed.failure });
    expect(contextProblems).toEqual([]);
    actor.stop();
  });

  it('invokes the gateway as its child, in its own actor system, with a new connection per run, and reads its output on done', () => {
    const { actor, clock, runs } = supervised();
    actor.send({ type: 'start' });
    clock.advance(10);
    runs[0]!.end(drainFailed);
    clock.advance(75);
    expect(runs.map((run) => run.run)).toEqual([1, 2]);
    for (const run of runs) {
      expect(run.actor.system).toBe(actor.system);
      expect(run.actor._parent).toBe(actor);
    }
    // The gateway was started by the supervisor and given the gateway input and the run's connection.
    const second = runs[1]!.actor.getSnapshot() as { value: unknown; context: { connection: ConnectionRef; url: string } };
    expect(second.value).toBe('running');
    expect(second.context.url).toBe('ws://127.0.0.1:1/');
    expect(second.context.connection).toBe(runs[1]!.connection);
    expect(runs[1]!.connection).not.toBe(runs[0]!.connection);
    expect(actor.getSnapshot().context.connection).toBe(runs[1]!.connection);
    // The first run's output (its failure) reached the supervisor.
    expect(actor.getSnapshot().context.lastFailure).toEqual(drainFailed.failure);
    actor.stop();
  });

  it('a fatal close code ends the supervisor in failed, with no restart', () => {
    const { actor, clock, runs } = supervised();
    actor.send({ type: 'start' });
    runs[0]!.end(fatal);
    clock.advance(60_000);
    expect(runs).toHaveLength(1);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().context.lastFailure).toEqual(fatal.failure);
  });

  it('a gateway that stops on its own (its stop() called directly) stops the supervisor', () => {
    const { actor, runs } = supervised();
    actor.send({ type: 'start' });
    runs[0]!.actor.send({ type: 'stop' });
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(actor.getSnapshot().context.lastFailure).toBeNull();
  });

  it('does not restart while the old socket is still live: terminates it again and uses up budget', () => {
    const { actor, clock, runs, terminated } = supervised();
    actor.send({ type: 'start' });
    let live = true;
    runs[0]!.end(drainFailed, () => live);
    clock.advance(75);
    expect(runs).toHaveLength(1);
    expect(terminated).toEqual([1]);
    live = false;
    clock.advance(150);
    expect(runs).toHaveLength(2);
    expect(actor.getSnapshot().context.restarts).toBe(2);
    actor.stop();
  });

  it('a run that lasts windowMs refills the budget', () => {
    const { actor, clock, runs } = supervised({ maxRestarts: 1, windowMs: 1_000, cooldownBaseMs: 100, cooldownMaxMs: 100 });
    actor.send({ type: 'start' });
    for (let run = 0; run < 4; run += 1) {
      clock.advance(1_000);
      runs[run]!.end(drainFailed);
      clock.advance(100);
    }
    expect(runs).toHaveLength(5);
    expect(actor.getSnapshot().value).toEqual({ running: 'active' });
    actor.stop();
  });

  it('retry closes an open breaker; stop while running stops the run first', () => {
    const { actor, clock, runs, states } = supervised({ maxRestarts: 0, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 100 });
    actor.send({ type: 'start' });
    runs[0]!.end(drainFailed);
    clock.advance(100);
    expect(actor.getSnapshot().value).toBe('open');
    actor.send({ type: 'retry' });
    expect(runs).toHaveLength(2);
    const run = runs[1]!.actor;
    actor.send({ type: 'stop' });
    expect((run.getSnapshot() as { context: { stopped: boolean } }).context.stopped).toBe(true);
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(states.slice(-4)).toEqual(['open', 'running.active', 'running.stopping', 'stopped']);
    expect(clock.pending).toBe(0);
  });

  it('while stopping, a gateway that ends failed still ends the supervisor in stopped', () => {
    const { actor, runs } = supervised(defaultOptions, fakeGatewayOf(true));
    actor.send({ type: 'start' });
    // The stop is forwarded; the gateway drains, and its drain fails.
    actor.send({ type: 'stop' });
    expect(actor.getSnapshot().value).toEqual({ running: 'stopping' });
    expect(runs[0]!.actor.getSnapshot().value).toBe('draining');
    runs[0]!.end(drainFailed);
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(actor.getSnapshot().context.lastFailure).toEqual(drainFailed.failure);
  });

  it('with maxRestarts 0, retry() starts a new gateway once the stuck socket has closed', () => {
    const { actor, clock, runs, terminated, states } = supervised({
      maxRestarts: 0,
      windowMs: 10_000,
      cooldownBaseMs: 100,
      cooldownMaxMs: 100,
    });
    actor.send({ type: 'start' });
    let live = true;
    runs[0]!.end(drainFailed, () => live);
    clock.advance(100);
    expect(actor.getSnapshot().value).toBe('open');
    actor.send({ type: 'retry' });
    expect(terminated).toEqual([1]);
    live = false;
    clock.advance(100);
    expect(runs).toHaveLength(2);
    expect(actor.getSnapshot().value).toEqual({ running: 'active' });
    expect(states).toEqual(['idle', 'running.active', 'coolingDown', 'open', 'coolingDown', 'running.active']);
    actor.stop();
  });

  it('after retry(), a socket that still does not close is terminated once more, then the breaker opens again', () => {
    const { actor, clock, runs, terminated } = supervised({ maxRestarts: 0, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 100 });
    actor.send({ type: 'start' });
    runs[0]!.end(drainFailed, () => true);
    clock.advance(100);
    actor.send({ type: 'retry' });
    clock.advance(1_000);
    expect(runs).toHaveLength(1);
    expect(terminated).toEqual([1, 1]);
    expect(actor.getSnapshot().value).toBe('open');
    expect(clock.pending).toBe(0);
    actor.stop();
  });

  it.each([
    ['idle', () => {}],
    ['coolingDown', (s: ReturnType<typeof supervised>) => s.runs[0]!.end(drainFailed)],
    ['open', (s: ReturnType<typeof supervised>) => (s.runs[0]!.end(drainFailed), s.clock.advance(100))],
  ] as const)('stop() from %s ends the supervisor at once, with no timer left', (from, reach) => {
    const s = supervised({ maxRestarts: 0, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 100 });
    if (from !== 'idle') s.actor.send({ type: 'start' });
    reach(s);
    expect(s.states.at(-1)).toBe(from);
    s.actor.send({ type: 'stop' });
    expect(s.actor.getSnapshot().value).toBe('stopped');
    expect(s.clock.pending).toBe(0);
  });

  it('a gateway actor that crashes is restarted like a failed gateway, with the reason, instead of crashing the supervisor', () => {
    let starts = 0;
    const crashing = fromCallback<{ type: string }>(({ receive }) => {
      receive((event) => {
        if (event.type !== 'start') return;
        starts += 1;
        throw new TypeError('a bug in the gateway');
      });
    });
    const { actor, clock } = supervised({ maxRestarts: 1, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 100 }, crashing);
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.send({ type: 'start' });
    expect(actor.getSnapshot().value).toBe('coolingDown');
    expect(actor.getSnapshot().context.lastFailure?.message).toContain('a bug in the gateway');
    clock.advance(100);
    clock.advance(100);
    expect(starts).toBe(2);
    expect(actor.getSnapshot().value).toBe('open');
    expect(errors).toEqual([]);
    actor.stop();
  });

  it('a gateway actor that crashes while stopping ends the supervisor in stopped', () => {
    const crashOnStop = fromCallback<{ type: string }>(({ receive }) => {
      receive((event) => {
        if (event.type === 'stop') throw new Error('crashed while stopping');
      });
    });
    const { actor } = supervised(defaultOptions, crashOnStop);
    actor.send({ type: 'start' });
    actor.send({ type: 'stop' });
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(actor.getSnapshot().context.lastFailure?.message).toContain('crashed while stopping');
  });
});

afterAll(() => {
  // Every state and transition of the supervisor was taken by some test above.
  expect(allStates(supervisorMachine).filter((id) => !coverage.states.has(id))).toEqual([]);
  expect(allTransitions(supervisorMachine).filter((key) => !coverage.transitions.has(key))).toEqual([]);
});
