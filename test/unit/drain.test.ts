import { describe, expect, it } from 'vitest';
import { drainMachine, type DrainInput } from '../../src/machines/drainMachine.ts';
import { SocketLine } from '../../src/connection/socketLine.ts';
import { SocketState } from '../../src/types.ts';
import { recordStates, startActor } from '../support/actors.ts';
import { FakeSocket, type FakeSocketBehaviour } from '../support/fakeSocket.ts';
import { ManualClock } from '../support/manualClock.ts';
import { openConnection } from '../../src/connection/connection.ts';

const DRAIN_MS = 5_000;
const GRACE_MS = 1_000;
/** Only the line's own error sink may stay attached to a drained socket. */
const onlyTheErrorSink = { open: 0, message: 0, close: 0, error: 1 };

function lineWith(behaviour: FakeSocketBehaviour, readyState: number = SocketState.OPEN) {
  const line = new SocketLine();
  const socket = line.open(() => new FakeSocket('wss://gateway.example/', behaviour)) as FakeSocket;
  socket.readyState = readyState;
  return { line, socket };
}

function runDrain(line: SocketLine, overrides: Partial<DrainInput> = {}) {
  const clock = new ManualClock();
  let states: string[] = [];
  const input: DrainInput = {
    connection: openConnection({ line }),
    code: 4000,
    terminateAtOnce: false,
    drainTimeout: DRAIN_MS,
    terminateGrace: GRACE_MS,
    ...overrides,
  };
  const actor = startActor(drainMachine, { input, clock }, (created) => {
    states = recordStates(created);
  });
  return { actor, clock, states };
}

describe('drain machine', () => {
  it('a socket that answers close(code) drains at once', () => {
    const { line, socket } = lineWith({ onClose: 'closes', onTerminate: 'closes' });
    const { actor, states, clock } = runDrain(line, { code: 4000 });

    expect(states).toEqual(['closing', 'closed']);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.calls).toEqual([{ method: 'close', code: 4000 }]);
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
    expect(clock.pending).toBe(0);
  });

  it('passes the close code it was given (1000 for a session being abandoned)', () => {
    const { line, socket } = lineWith({ onClose: 'closes', onTerminate: 'closes' });
    runDrain(line, { code: 1000 });
    expect(socket.calls).toEqual([{ method: 'close', code: 1000 }]);
  });

  it('a socket whose close handshake completes later drains when `close` arrives', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'closes' });
    const { actor, states, clock } = runDrain(line);

    clock.advance(DRAIN_MS - 1);
    expect(states).toEqual(['closing']);
    socket.finishClose(4000);

    expect(states).toEqual(['closing', 'closed']);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.calls).toEqual([{ method: 'close', code: 4000 }]);
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('a socket that never answers close() is terminated after drainTimeout, then drains', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'closes' });
    const { actor, states, clock } = runDrain(line);

    clock.advance(DRAIN_MS - 1);
    expect(socket.calls).toEqual([{ method: 'close', code: 4000 }]);
    expect(states).toEqual(['closing']);

    clock.advance(1);
    expect(socket.calls).toEqual([{ method: 'close', code: 4000 }, { method: 'terminate' }]);
    expect(states).toEqual(['closing', 'terminating', 'closed']);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
    expect(clock.pending).toBe(0);
  });

  it('a socket that never closes even after terminate() fails the drain after terminateGrace', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'hangs' });
    const { actor, states, clock } = runDrain(line);

    clock.advance(DRAIN_MS + GRACE_MS - 1);
    expect(states).toEqual(['closing', 'terminating']);
    expect(actor.getSnapshot().status).toBe('active');

    clock.advance(1);
    expect(states).toEqual(['closing', 'terminating', 'failed']);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ drained: false });
    expect(socket.calls).toEqual([{ method: 'close', code: 4000 }, { method: 'terminate' }]);
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('a `close` that arrives after the drain failed changes nothing', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'hangs' });
    const { actor, states, clock } = runDrain(line);
    clock.advance(DRAIN_MS + GRACE_MS);

    socket.finishClose(1006);
    expect(states).toEqual(['closing', 'terminating', 'failed']);
    expect(actor.getSnapshot().output).toEqual({ drained: false });
  });

  it('terminateAtOnce skips close() and terminates straight away', () => {
    const { line, socket } = lineWith({ onClose: 'closes', onTerminate: 'closes' });
    const { actor, states } = runDrain(line, { terminateAtOnce: true });

    expect(states).toEqual(['terminating', 'closed']);
    expect(socket.calls).toEqual([{ method: 'terminate' }]);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('terminateAtOnce fails after terminateGrace alone, not drain + grace', () => {
    const { line, socket } = lineWith({ onClose: 'closes', onTerminate: 'hangs' });
    const { actor, states, clock } = runDrain(line, { terminateAtOnce: true });

    clock.advance(GRACE_MS - 1);
    expect(actor.getSnapshot().status).toBe('active');
    clock.advance(1);
    expect(states).toEqual(['terminating', 'failed']);
    expect(actor.getSnapshot().output).toEqual({ drained: false });
    expect(socket.calls).toEqual([{ method: 'terminate' }]);
  });

  it('an already-closed socket drains at once, without close() or terminate()', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'hangs' }, SocketState.CLOSED);
    const { actor, states, clock } = runDrain(line);

    expect(states).toEqual(['closing', 'closed']);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.calls).toEqual([]);
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
    expect(clock.pending).toBe(0);
  });

  it('a line that never had a socket drains at once', () => {
    const { actor, states } = runDrain(new SocketLine());
    expect(states).toEqual(['closing', 'closed']);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
  });

  it('an already-closed socket drains at once with terminateAtOnce too', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'hangs' }, SocketState.CLOSED);
    const { actor, states } = runDrain(line, { terminateAtOnce: true });
    expect(states).toEqual(['terminating', 'closed']);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.calls).toEqual([]);
  });

  it('a still-connecting socket that answers close() with error + close drains, the error going to the sink', () => {
    const { line, socket } = lineWith({ onClose: 'closes', onTerminate: 'closes' }, SocketState.CONNECTING);
    const { actor, states } = runDrain(line);

    expect(states).toEqual(['closing', 'closed']);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('a close() that throws moves on to terminate() and leaves no listener behind', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'closes', closeThrows: new Error('boom') });
    const { actor, states } = runDrain(line);

    expect(states).toEqual(['closing', 'terminating', 'closed']);
    expect(socket.calls).toEqual([{ method: 'close', code: 4000 }, { method: 'terminate' }]);
    expect(actor.getSnapshot().output).toEqual({ drained: true });
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('stopping a drain midway (shutdown) detaches its listener and cancels its timers', () => {
    const { line, socket } = lineWith({ onClose: 'hangs', onTerminate: 'hangs' });
    const { actor, clock } = runDrain(line);
    clock.advance(DRAIN_MS);
    expect(socket.listenerCount('close')).toBe(1);

    actor.stop();
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
    expect(clock.pending).toBe(0);
    clock.advance(DRAIN_MS + GRACE_MS);
    expect(actor.getSnapshot().status).toBe('stopped');
  });
});
