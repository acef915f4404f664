import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import type { GatewayOutput } from '../../src/machines/gatewayMachine.ts';
import { supervisorMachine, type RunEnded } from '../../src/machines/supervisorMachine.ts';
import { recordStates } from '../support/actors.ts';
import { connectionOf, openConnection, type ConnectionRef } from '../../src/machines/connection.ts';
import { ManualClock } from '../support/manualClock.ts';

/** A gateway's connection whose socket is live while `live()` says so, and records terminate(). */
function endedConnection(live: () => boolean, terminate: () => void): ConnectionRef {
  const connection = openConnection();
  const { line } = connectionOf(connection);
  Object.defineProperty(line, 'isLive', { get: live });
  Object.defineProperty(line, 'socket', { get: () => ({ terminate }) });
  return connection;
}

/**
 * The supervisor statechart with a fake gateway run: the test ends each run with the output it
 * wants, and says whether the ended gateway's socket is still live.
 */
function supervised(options = { maxRestarts: 2, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 1_000 }) {
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  const clock = new ManualClock();
  const runs: { end: (output: GatewayOutput, socketLive?: () => boolean) => void; stopped: boolean }[] = [];
  const terminated: number[] = [];
  const gatewayRun = fromCallback<{ type: 'stop' }, { run: number }>(({ sendBack, receive, input }) => {
    const run = {
      stopped: false,
      end: (output: GatewayOutput, socketLive: () => boolean = () => false) =>
        sendBack({ type: 'gateway.ended', output, connection: endedConnection(socketLive, () => terminated.push(input.run)) } satisfies RunEnded),
    };
    runs.push(run);
    receive(() => {
      run.stopped = true;
      run.end({ status: 'stopped' });
    });
  });
  const actor = createActor(supervisorMachine.provide({ actors: { gatewayRun } }), { input: options, clock });
  const states = recordStates(actor);
  actor.start();
  return { actor, clock, runs, states, terminated };
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
    const { actor, clock, runs, states } = supervised();
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
    expect(states).toEqual(['idle', 'running.active', 'coolingDown', 'running.active', 'coolingDown', 'running.active', 'coolingDown', 'open']);
    expect(actor.getSnapshot().context).toMatchObject({ restarts: 2, runs: 3 });
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
    actor.send({ type: 'stop' });
    expect(runs[1]!.stopped).toBe(true);
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(states.slice(-4)).toEqual(['open', 'running.active', 'running.stopping', 'stopped']);
    expect(clock.pending).toBe(0);
  });

  it('with maxRestarts 0, retry() starts a new gateway once the stuck socket has closed', () => {
    const { actor, clock, runs, terminated, states } = supervised({ maxRestarts: 0, windowMs: 10_000, cooldownBaseMs: 100, cooldownMaxMs: 100 });
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

  it('a gateway run that throws as it starts ends the supervisor in failed, with the reason, instead of crashing', () => {
    const clock = new ManualClock();
    const throwing = fromCallback<{ type: 'stop' }, { run: number }>(() => {
      throw new TypeError('createGateway: timeouts.hello must be a finite number ≥ 0 (ms), got -5');
    });
    const actor = createActor(supervisorMachine.provide({ actors: { gatewayRun: throwing } }), { input: {}, clock });
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    actor.send({ type: 'start' });
    expect(errors).toEqual([]);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.lastFailure?.message).toContain('timeouts.hello');
    clock.advance(60_000);
    expect(clock.pending).toBe(0);
  });
});
