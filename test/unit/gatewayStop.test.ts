import { connectionOf } from '../../src/connection/connection.ts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serverFrames } from '../support/discordFrames.ts';
import { startGatewayHarness, type GatewayHarness } from '../support/gatewayHarness.ts';
import type { FakeSocketBehaviour } from '../support/fakeSocket.ts';

const DRAIN_MS = 5_000;
const GRACE_MS = 1_000;
const hangs: FakeSocketBehaviour = { onClose: 'hangs', onTerminate: 'hangs' };
const onlyTheErrorSink = { open: 0, message: 0, close: 0, error: 1 };

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Sends stop and returns how much simulated time passes until the gateway is done. */
function stopAndMeasure(h: GatewayHarness): number {
  h.actor.send({ type: 'stop' });
  return h.clock.runUntil(() => h.status === 'done', DRAIN_MS + GRACE_MS);
}

describe('gateway: stop', () => {
  it('from idle: stopped at once, no socket', () => {
    const h = startGatewayHarness();
    expect(stopAndMeasure(h)).toBe(0);
    expect(h.states).toEqual(['idle', 'stopped']);
    expect(h.output).toEqual({ status: 'stopped' });
    expect(h.sockets.sockets).toHaveLength(0);
  });

  it('from ready, cooperative socket: closes with 1000 and stops at once', () => {
    const h = startGatewayHarness();
    const socket = h.startReady();
    expect(stopAndMeasure(h)).toBe(0);

    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'closing', 'stopped']);
    expect(h.output).toEqual({ status: 'stopped' });
    expect(socket.calls).toEqual([{ method: 'close', code: 1000 }]);
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
    expect(connectionOf(h.context.connection).line.sealed).toBe(true);
    expect(h.clock.pending).toBe(0);
  });

  it('from ready, socket that never closes: stopped quietly after exactly drain + grace', () => {
    const h = startGatewayHarness();
    const socket = h.startReady();
    socket.behaviour = hangs;
    h.actor.send({ type: 'stop' });
    h.clock.advance(DRAIN_MS + GRACE_MS - 1);
    expect(h.status).toBe('active');
    h.clock.advance(1);

    expect(h.status).toBe('done');
    expect(h.states.slice(-2)).toEqual(['closing', 'stopped']);
    expect(h.output).toEqual({ status: 'stopped' });
    expect(socket.calls).toEqual([{ method: 'close', code: 1000 }, { method: 'terminate' }]);
    expect(h.errors).toEqual([]);
  });

  it('from ready, socket that only answers terminate(): stopped after the drain timeout', () => {
    const h = startGatewayHarness();
    const socket = h.startReady();
    socket.behaviour = { onClose: 'hangs', onTerminate: 'closes' };
    expect(stopAndMeasure(h)).toBe(DRAIN_MS);
    expect(h.output).toEqual({ status: 'stopped' });
  });

  it('from connecting, with a socket still opening that never closes: within drain + grace, no new socket', () => {
    const h = startGatewayHarness();
    h.sockets.behaviour = hangs;
    const socket = h.start();
    expect(h.state).toBe('connecting.fresh');
    h.clock.advance(3_000);

    expect(stopAndMeasure(h)).toBe(DRAIN_MS + GRACE_MS);
    expect(h.output).toEqual({ status: 'stopped' });
    h.clock.advance(10 * 60_000);
    expect(h.sockets.sockets).toEqual([socket]);
  });

  it('from connecting, while waiting for a backoff: at once, and the retry never happens', () => {
    const h = startGatewayHarness();
    h.startReady().peerClose(1006);
    expect(h.phases.at(-1)).toBe('resume:waiting');

    expect(stopAndMeasure(h)).toBe(0);
    h.clock.advance(10 * 60_000);
    expect(h.sockets.sockets).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });

  it('from connecting, while a reconnect drains a hanging socket: within drain + grace of the stop', () => {
    const h = startGatewayHarness();
    const socket = h.startReady();
    socket.behaviour = hangs;
    socket.receive(serverFrames.reconnect());
    h.clock.advance(DRAIN_MS + 200);
    expect(h.phases.at(-1)).toBe('resume:draining');

    expect(stopAndMeasure(h)).toBe(DRAIN_MS + GRACE_MS);
    expect(h.output).toEqual({ status: 'stopped' });
    expect(h.sockets.sockets).toHaveLength(1);
    expect(socket.calls).toEqual([
      { method: 'close', code: 4000 },
      { method: 'terminate' },
      { method: 'close', code: 1000 },
      { method: 'terminate' },
    ]);
  });

  it('from closing: a second stop does not extend the wait', () => {
    const h = startGatewayHarness();
    h.startReady().behaviour = hangs;
    h.actor.send({ type: 'stop' });
    h.clock.advance(3_000);
    h.actor.send({ type: 'stop' });
    h.clock.advance(DRAIN_MS + GRACE_MS - 3_000 - 1);
    expect(h.status).toBe('active');
    h.clock.advance(1);
    expect(h.status).toBe('done');
  });

  it('from closing: a peer close during the drain ends it at once', () => {
    const h = startGatewayHarness();
    const socket = h.startReady();
    socket.behaviour = hangs;
    h.actor.send({ type: 'stop' });
    h.clock.advance(1_000);
    socket.peerClose(1000);
    expect(h.status).toBe('done');
    expect(h.output).toEqual({ status: 'stopped' });
  });

  it('a fatal close is reported as failed even though the drain that follows succeeds', () => {
    const h = startGatewayHarness();
    h.startReady().peerClose(4004);
    expect(h.output).toMatchObject({ status: 'failed', failure: { trigger: { type: 'close', code: 4004 } } });
  });

  it('after stop, late socket events reach nothing', () => {
    const h = startGatewayHarness();
    const socket = h.startReady();
    socket.behaviour = { onClose: 'hangs', onTerminate: 'closes' };
    stopAndMeasure(h);
    const events = h.gatewayEvents.length;

    socket.receive(serverFrames.reconnect());
    socket.receive(serverFrames.dispatch('MESSAGE_CREATE', 5));
    socket.peerClose(1006);
    h.clock.advance(10 * 60_000);

    expect(h.status).toBe('done');
    expect(h.output).toEqual({ status: 'stopped' });
    expect(h.sockets.sockets).toHaveLength(1);
    expect(h.gatewayEvents.length).toBe(events);
    expect(h.dispatches).toEqual([]);
    expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('uses the drain and grace given in the input', () => {
    const h = startGatewayHarness({ timeouts: { drain: 200, terminateGrace: 50 } });
    h.startReady().behaviour = hangs;
    h.actor.send({ type: 'stop' });
    expect(h.clock.runUntil(() => h.status === 'done', 10_000)).toBe(250);
  });
});
