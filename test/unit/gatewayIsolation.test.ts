import { GatewayOpcodes } from 'discord-api-types/v10';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serverFrames } from '../support/discordFrames.ts';
import { MAIN_URL, TOKEN, startGatewayHarness } from '../support/gatewayHarness.ts';

const onlyTheErrorSink = { open: 0, message: 0, close: 0, error: 1 };

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('gateway: one live socket', () => {
  it('a reconnect waits for the old socket to close before opening the next', () => {
    const h = startGatewayHarness();
    const first = h.startReady();
    first.behaviour = { onClose: 'hangs', onTerminate: 'hangs' };
    first.receive(serverFrames.reconnect());

    h.clock.advance(4_000);
    expect(h.sockets.sockets).toHaveLength(1);
    first.finishClose(4000);
    h.clock.flush();
    expect(h.sockets.sockets).toHaveLength(2);
    expect(h.sockets.violations).toEqual([]);
  });

  it('a reconnect terminates an old socket that ignores close(), and only then opens the next', () => {
    const h = startGatewayHarness();
    const first = h.startReady();
    first.behaviour = { onClose: 'hangs', onTerminate: 'closes' };
    first.receive(serverFrames.reconnect());
    h.clock.advance(5_000 - 1);
    expect(h.sockets.sockets).toHaveLength(1);
    h.clock.advance(1);
    expect(first.calls).toEqual([{ method: 'close', code: 4000 }, { method: 'terminate' }]);
    expect(h.sockets.sockets).toHaveLength(2);
  });
});

describe('gateway: stale sockets', () => {
  it("a replaced socket's late close and frames change nothing", () => {
    const h = startGatewayHarness();
    const first = h.startReady('session-1', 1);
    first.behaviour = { onClose: 'hangs', onTerminate: 'hangs' };
    first.receive(serverFrames.reconnect());
    first.finishClose(4000);
    h.clock.flush();
    h.openWithHello().receive(serverFrames.resumed(1));
    expect(h.state).toBe('ready');

    const before = {
      events: h.gatewayEvents.length,
      plans: h.plans.length,
      states: [...h.states],
      dispatches: h.dispatches.length,
    };
    first.peerClose(1006);
    first.receive(serverFrames.reconnect());
    first.receive(serverFrames.invalidSession(false));
    first.receive(serverFrames.dispatch('MESSAGE_CREATE', 99));
    first.receive('{garbage');
    first.emitError(new Error('late ECONNRESET'));
    h.clock.advance(1_000);

    expect(h.gatewayEvents.length).toBe(before.events);
    expect(h.plans.length).toBe(before.plans);
    expect(h.states).toEqual(before.states);
    expect(h.dispatches.length).toBe(before.dispatches);
    expect(h.errors).toEqual([]);
    expect(h.sockets.sockets).toHaveLength(2);
    expect(first.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it("an old socket's frames cannot drive the next handshake", () => {
    const h = startGatewayHarness();
    const first = h.startStable('session-1', 1);
    first.peerClose(1006);
    h.clock.flush();
    const second = h.socket;
    second.open();
    expect(h.phases.at(-1)).toBe('resume:handshake.awaitingHello');

    first.receive(serverFrames.hello());
    first.receive(serverFrames.resumed(1));
    expect(h.phases.at(-1)).toBe('resume:handshake.awaitingHello');
    expect(second.sent).toEqual([]);
    expect(first.sent.filter((frame) => JSON.parse(frame).op === GatewayOpcodes.Resume)).toEqual([]);
  });

  it('a socket abandoned by a timed-out handshake cannot finish it later', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const stalled = h.socket;
    stalled.open();
    h.clock.advance(30_000);
    h.clock.runUntil(() => h.socket !== stalled, 60_000);
    const next = h.socket;

    stalled.receive(serverFrames.hello());
    stalled.receive(serverFrames.resumed(1));
    expect(h.state).toBe('connecting.resume');
    expect(next.sent).toEqual([]);
  });
});

describe('gateway: reconnect requests', () => {
  it('reconnect() from ready resumes at once, closing with 4000', () => {
    const h = startGatewayHarness();
    const first = h.startReady('session-1', 1);
    h.actor.send({ type: 'reconnect', fresh: false });
    expect(first.calls).toEqual([{ method: 'close', code: 4000 }]);
    h.clock.flush();
    h.openWithHello();
    expect(h.socket.sentFrames()).toEqual([{ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: 'session-1', seq: 1 } }]);
    expect(h.planSummary().at(-1)).toBe('userReconnect:resume');
  });

  it('reconnect({ fresh: true }) from ready abandons the session (1000) and IDENTIFYs on the main URL', () => {
    const h = startGatewayHarness();
    const first = h.startReady('session-1', 1);
    h.actor.send({ type: 'reconnect', fresh: true });
    expect(first.calls).toEqual([{ method: 'close', code: 1000 }]);
    expect(h.context.session).toBeNull();
    h.clock.flush();
    const second = h.openWithHello();
    expect(second.url).toBe(MAIN_URL);
    expect(second.sentOps()).toEqual([GatewayOpcodes.Identify]);
  });

  it.each([
    ['waiting for its backoff', 'resume:waiting'],
    ['opening its socket', 'resume:handshake.opening'],
    ['waiting for HELLO', 'resume:handshake.awaitingHello'],
    ['waiting for RESUMED', 'resume:handshake.resuming'],
  ])('reconnect({ fresh: true }) upgrades a resume that is %s', (_label, phase) => {
    const h = startGatewayHarness();
    const first = h.startReady('session-1', 1);
    first.peerClose(1006);
    // not stable: the resume waits 1 s of backoff
    if (phase !== 'resume:waiting') {
      h.clock.runUntil(() => h.sockets.sockets.length === 2, 10_000);
      if (phase !== 'resume:handshake.opening') h.socket.open();
      if (phase === 'resume:handshake.resuming') h.socket.receive(serverFrames.hello());
    }
    expect(h.phases.at(-1)).toBe(phase);

    h.actor.send({ type: 'reconnect', fresh: true });
    expect(h.context.session).toBeNull();
    h.clock.runUntil(() => h.phases.at(-1) === 'fresh:handshake.opening', 60_000);
    const fresh = h.openWithHello();
    fresh.receive(serverFrames.ready(1, 'session-2'));

    expect(h.reconnects).toEqual(['fresh', 'resume', 'fresh']);
    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'connecting.resume', 'connecting.fresh', 'ready']);
    expect(fresh.url).toBe(MAIN_URL);
    expect(fresh.sentOps()).toEqual([GatewayOpcodes.Identify]);
    expect(h.context.session?.sessionId).toBe('session-2');
    expect(h.planSummary().slice(-1)).toEqual(['userReconnect:fresh']);
  });

  it('reconnect() while a resume is in flight joins it', () => {
    const h = startGatewayHarness();
    h.startReady().peerClose(1006);
    h.actor.send({ type: 'reconnect', fresh: false });
    h.clock.runUntil(() => h.sockets.sockets.length === 2, 10_000);
    h.actor.send({ type: 'reconnect', fresh: false });
    expect(h.reconnects).toEqual(['fresh', 'resume']);
    h.openWithHello().receive(serverFrames.resumed(1));
    expect(h.state).toBe('ready');
  });

  it.each([false, true])('reconnect({ fresh: %s }) while a fresh reconnect is in flight is served by it', (fresh) => {
    const h = startGatewayHarness();
    h.start();
    h.actor.send({ type: 'reconnect', fresh });
    h.openWithHello().receive(serverFrames.ready(1, 'session-1'));
    expect(h.reconnects).toEqual(['fresh']);
    expect(h.sockets.sockets).toHaveLength(1);
    expect(h.state).toBe('ready');
  });

  it('reconnect before start does nothing', () => {
    const h = startGatewayHarness();
    h.actor.send({ type: 'reconnect', fresh: true });
    h.clock.advance(60_000);
    expect(h.states).toEqual(['idle']);
    expect(h.sockets.sockets).toHaveLength(0);
  });
});
