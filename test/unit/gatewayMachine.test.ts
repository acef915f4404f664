import { GatewayOpcodes } from 'discord-api-types/v10';
import { connectionOf } from '../../src/connection/connection.ts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayProtocolError } from '../../src/actors/socket.ts';
import { SocketState } from '../../src/types.ts';
import { serverFrames } from '../support/discordFrames.ts';
import { CHECKED_RESUME_URL, HEARTBEAT_INTERVAL, MAIN_URL, TOKEN, startGatewayHarness } from '../support/gatewayHarness.ts';

/** Every random draw in these tests is 0.5: backoff and invalid-session waits are mid-range. */
const RANDOM = 0.5;
const onlyTheErrorSink = { open: 0, message: 0, close: 0, error: 1 };

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(RANDOM);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('gateway: first connection', () => {
  it('walks idle → connecting.fresh → ready, sending one IDENTIFY on the main URL', () => {
    const h = startGatewayHarness();
    expect(h.states).toEqual(['idle']);
    const socket = h.start();
    expect(socket.url).toBe(MAIN_URL);
    h.openWithHello();
    expect(h.phases.at(-1)).toBe('fresh:handshake.identifying');
    socket.receive(serverFrames.ready(1, 'session-1', 'wss://us-east1-b.gateway.discord.gg'));

    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready']);
    expect(h.phases).toEqual([
      'fresh:draining',
      'fresh:waiting',
      'fresh:awaitingTurn',
      'fresh:handshake.opening',
      'fresh:handshake.awaitingHello',
      'fresh:handshake.identifying',
      'fresh:ready',
    ]);
    expect(socket.sentFrames()).toEqual([{ op: GatewayOpcodes.Identify, d: expect.objectContaining({ token: TOKEN, intents: 513 }) }]);
    expect(h.context.session).toEqual({ sessionId: 'session-1', resumeUrl: CHECKED_RESUME_URL });
    expect(h.context.lastHandshake).toBe('identify');
    expect(h.planSummary()).toEqual(['start:fresh']);
    expect(h.sockets.sockets).toHaveLength(1);
    expect(h.errors).toEqual([]);
  });

  it('keeps the token out of the statechart context and snapshots', () => {
    const h = startGatewayHarness();
    h.startReady();
    expect(JSON.stringify(h.actor.getSnapshot())).not.toContain(TOKEN);
    expect(JSON.stringify(h.actor.getPersistedSnapshot())).not.toContain(TOKEN);
  });

  it('delivers each dispatch once, in order, without a statechart event per dispatch', () => {
    const h = startGatewayHarness();
    const socket = h.startReady('session-1', 1);
    const eventsBefore = h.gatewayEvents.length;
    for (let s = 2; s <= 101; s += 1) socket.receive(serverFrames.dispatch('MESSAGE_CREATE', s, { n: s }));
    socket.receive(serverFrames.dispatch('MESSAGE_CREATE', 50));

    expect(h.dispatches.map((payload) => payload.s)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
    expect(h.dispatches[0]).toEqual({ op: 0, t: 'MESSAGE_CREATE', s: 2, d: { n: 2 } });
    expect(h.gatewayEvents.length).toBe(eventsBefore);
    expect(h.state).toBe('ready');
  });

  it('sends user payloads on the ready socket', () => {
    const h = startGatewayHarness();
    const socket = h.startReady();
    h.actor.send({ type: 'send', data: '{"op":3,"d":{"status":"idle"}}', id: 1 });
    expect(socket.sent.at(-1)).toBe('{"op":3,"d":{"status":"idle"}}');
  });

  it('answers an op 1 heartbeat request at once with the last sequence', () => {
    const h = startGatewayHarness();
    const socket = h.startReady('session-1', 1);
    socket.receive(serverFrames.dispatch('GUILD_CREATE', 5));
    socket.receive(serverFrames.heartbeatRequest());
    expect(socket.sentFrames().at(-1)).toEqual({ op: GatewayOpcodes.Heartbeat, d: 5 });
    expect(h.state).toBe('ready');
  });
});

describe('gateway: resume after a server close', () => {
  it('close 1006 → resume on the resume URL → RESUMED, replayed events delivered once', () => {
    const h = startGatewayHarness();
    const first = h.startStable('session-1', 1);
    first.receive(serverFrames.dispatch('MESSAGE_CREATE', 2));
    first.receive(serverFrames.dispatch('MESSAGE_CREATE', 3));

    first.peerClose(1006);
    h.clock.flush();
    const second = h.socket;
    expect(second).not.toBe(first);
    expect(second.url).toBe(CHECKED_RESUME_URL);
    h.openWithHello();
    expect(second.sentFrames()).toEqual([{ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: 'session-1', seq: 3 } }]);
    for (const s of [2, 3, 4]) second.receive(serverFrames.dispatch('MESSAGE_CREATE', s));
    second.receive(serverFrames.resumed(5));

    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'connecting.resume', 'ready']);
    expect(h.phases.filter((phase) => phase.startsWith('resume:'))).toEqual([
      'resume:draining',
      'resume:waiting',
      'resume:handshake.opening',
      'resume:handshake.awaitingHello',
      'resume:handshake.resuming',
      'resume:resumed',
    ]);
    expect(h.dispatches.map((payload) => payload.s)).toEqual([2, 3, 4]);
    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume']);
    expect(h.context.session?.sessionId).toBe('session-1');
    expect(h.context.lastHandshake).toBe('resume');
    expect(first.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('retries at once after a stable session, after full-jitter backoff otherwise', () => {
    const stable = startGatewayHarness();
    stable.startStable().peerClose(1006);
    stable.clock.flush();
    expect(stable.sockets.sockets).toHaveLength(2);

    const unstable = startGatewayHarness();
    unstable.startReady().peerClose(1006);
    // attempt 2 since the last stable period: rand(0, 2 s) with rand = 0.5
    unstable.clock.advance(999);
    expect(unstable.sockets.sockets).toHaveLength(1);
    expect(unstable.phases.at(-1)).toBe('resume:waiting');
    unstable.clock.advance(1);
    expect(unstable.sockets.sockets).toHaveLength(2);
  });

  it('4008 (rate limited) waits even after a stable session', () => {
    const h = startGatewayHarness();
    h.startStable().peerClose(4008);
    h.clock.advance(999);
    expect(h.sockets.sockets).toHaveLength(1);
    h.clock.advance(1);
    expect(h.sockets.sockets).toHaveLength(2);
    expect(h.planSummary().at(-1)).toBe('close:resume');
  });

  it.each([4003, 4007, 4009])('close %i goes fresh: IDENTIFY on the main URL, new session', (code) => {
    const h = startGatewayHarness();
    h.startStable('session-1').peerClose(code);
    h.clock.flush();
    const socket = h.openWithHello();
    expect(socket.url).toBe(MAIN_URL);
    expect(socket.sentOps()).toEqual([GatewayOpcodes.Identify]);
    socket.receive(serverFrames.ready(1, 'session-2'));
    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'connecting.fresh', 'ready']);
    expect(h.context.session).toEqual({ sessionId: 'session-2', resumeUrl: null });
  });

  it.each([4004, 4010, 4011, 4012, 4013, 4014])('close %i is fatal: failed, no new socket ever', (code) => {
    const h = startGatewayHarness();
    h.startStable().peerClose(code);
    h.clock.advance(10 * 60_000);

    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'closing', 'failed']);
    expect(h.status).toBe('done');
    expect(h.output).toEqual({
      status: 'failed',
      failure: { message: expect.stringContaining(String(code)), trigger: { type: 'close', code, reason: '' } },
    });
    expect(h.sockets.sockets).toHaveLength(1);
    expect(connectionOf(h.context.connection).line.sealed).toBe(true);
  });

  it('a resume URL on a host that is not allowed is ignored with a warning: resume on the main URL', () => {
    const h = startGatewayHarness();
    h.start();
    h.openWithHello().receive(serverFrames.ready(1, 'session-1', 'wss://evil.example.com'));
    expect(h.warnings).toEqual([expect.stringContaining('evil.example.com')]);
    expect(h.context.session).toEqual({ sessionId: 'session-1', resumeUrl: null });

    h.clock.advance(5_000);
    h.socket.peerClose(1006);
    h.clock.flush();
    expect(h.socket.url).toBe(MAIN_URL);
  });

  it('a malformed frame on the ready socket is reported and resumes', () => {
    const h = startGatewayHarness();
    h.startStable().receive('{not json');
    h.clock.flush();
    expect(h.errors).toEqual([expect.any(GatewayProtocolError)]);
    expect(h.planSummary().at(-1)).toBe('protocolError:resume');
    expect(h.state).toBe('connecting.resume');
    expect(h.sockets.sockets).toHaveLength(2);
  });
});

describe('gateway: faults during a handshake', () => {
  it('4004 during IDENTIFY (token refused) fails at once, without retrying', () => {
    const h = startGatewayHarness();
    h.start();
    h.openWithHello().peerClose(4004, 'Authentication failed.');
    h.clock.advance(10 * 60_000);

    expect(h.states).toEqual(['idle', 'connecting.fresh', 'closing', 'failed']);
    expect(h.output).toMatchObject({
      status: 'failed',
      failure: { message: expect.stringMatching(/token/), trigger: { type: 'close', code: 4004, reason: 'Authentication failed.' } },
    });
    expect(h.sockets.sockets).toHaveLength(1);
  });

  it('a close during the RESUME handshake resumes again', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    resuming.peerClose(1006);
    h.clock.runUntil(() => h.socket !== resuming, 60_000);
    h.openWithHello().receive(serverFrames.resumed(1));

    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume', 'close:resume']);
    expect(h.reconnects).toEqual(['fresh', 'resume', 'resume']);
    expect(h.state).toBe('ready');
  });

  it('a malformed HELLO ends the handshake as a protocol error and is reported', () => {
    const h = startGatewayHarness();
    h.start().open();
    h.socket.receive({ op: 10, d: { heartbeat_interval: -5 } });
    expect(h.errors).toEqual([expect.any(GatewayProtocolError)]);
    expect(h.planSummary()).toEqual(['start:fresh', 'protocolError:fresh']);
  });

  it('a socket factory that throws for the resume URL: resume on the main URL instead', () => {
    const h = startGatewayHarness();
    h.startStable().peerClose(1006);
    h.sockets.failNext = new SyntaxError('Invalid URL');
    expect(() => h.clock.flush()).not.toThrow();
    h.clock.runUntil(() => h.sockets.sockets.length === 2, 60_000);

    expect(h.state).toBe('connecting.resume');
    expect(h.socket.url).toBe(MAIN_URL);
    h.openWithHello();
    expect(h.socket.sentOps()).toEqual([GatewayOpcodes.Resume]);
    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume', 'connectFailed:resume']);
    expect(h.plans.at(-1)).toMatchObject({ url: 'main' });
  });

  it('a socket factory that throws for the main URL fails closed with its message', () => {
    const h = startGatewayHarness();
    h.sockets.failNext = new SyntaxError('Invalid URL');
    h.actor.send({ type: 'start' });
    expect(() => h.clock.flush()).not.toThrow();

    expect(h.states.at(-1)).toBe('failed');
    expect(h.output).toMatchObject({
      status: 'failed',
      failure: { message: expect.stringContaining('Invalid URL'), trigger: { type: 'connectFailed', stage: 'create' } },
    });
    h.clock.advance(10 * 60_000);
    expect(h.sockets.sockets).toHaveLength(0);
  });

  it('a socket already closing when RESUMED arrives: one actor owns it into ready, and its close drives the next resume', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    resuming.behaviour = { onClose: 'hangs', onTerminate: 'hangs' };
    // the peer's close frame has been read (CLOSING) when RESUMED is handled
    resuming.readyState = 2;
    resuming.receive(serverFrames.resumed(1));
    expect(h.state).toBe('ready');
    // No second actor took the socket over at READY: the one that opened it is its only reader.
    expect(resuming.listenerCount('message')).toBe(1);
    expect(resuming.listenerCount('close')).toBe(1);

    resuming.finishClose(1006);
    expect(h.planSummary().at(-1)).toBe('close:resume');
    expect(h.plans.at(-1)?.trigger).toEqual({ type: 'close', code: 1006, reason: '' });
    h.clock.runUntil(() => h.sockets.sockets.length === 3, 60_000);
  });

  it('socket errors are reported; the close that follows drives recovery', () => {
    const h = startGatewayHarness();
    const socket = h.startStable();
    socket.emitError(new Error('ECONNRESET'));
    expect(h.errors.map((error) => error.message)).toEqual(['ECONNRESET']);
    expect(h.state).toBe('ready');
    socket.peerClose(1006);
    expect(h.state).toBe('connecting.resume');
  });
});

describe('gateway: the socket actor, from creation to CLOSED', () => {
  it('READY and a close delivered back to back (a transport that emits at once): the close is not lost, the gateway resumes', () => {
    const h = startGatewayHarness();
    h.start();
    const socket = h.sockets.latest;
    const send = socket.send.bind(socket);
    socket.send = (data: string, done?: (error?: Error) => void) => {
      send(data, done);
      // The server answers the IDENTIFY with READY and closes, all before the gateway's step ends.
      if ((JSON.parse(data) as { op: number }).op === GatewayOpcodes.Identify) {
        socket.receive(serverFrames.ready(1, 'session-1', null));
        socket.peerClose(1006);
      }
    };
    h.openWithHello();
    expect(h.state).toBe('connecting.resume');
    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume']);
    expect(h.plans.at(-1)?.trigger).toEqual({ type: 'close', code: 1006, reason: '' });
    expect(h.context.socketActor).toBeNull();
    h.clock.runUntil(() => h.sockets.sockets.length === 2, 60_000);
    const resuming = h.openWithHello();
    expect(resuming.sentFrames().at(-1)).toMatchObject({ op: GatewayOpcodes.Resume, d: { session_id: 'session-1', seq: 1 } });
    resuming.receive(serverFrames.resumed(2));
    expect(h.state).toBe('ready');
    expect(h.context.socketActor).toBe(2);
  });

  it("a caller's onSent that throws is reported, and the socket actor (and the gateway) carry on", () => {
    const h = startGatewayHarness(
      {},
      {
        onSent: () => {
          throw new Error('onSent threw');
        },
      },
    );
    const socket = h.startReady('session-1', 1);
    // The peer's close frame has arrived (CLOSING): the payload is handed back through onSent.
    socket.readyState = SocketState.CLOSING;
    h.actor.send({ type: 'send', data: '{}', id: 1 });
    expect(h.errors.map((error) => error.message)).toContain('onSent threw');
    expect(h.actor.getSnapshot().status).toBe('active');
    expect(h.state).toBe('ready');
    socket.finishClose(1006);
    expect(h.state).toBe('connecting.resume');
  });
});

describe('gateway: generation guard', () => {
  it('ignores socket events tagged with an older generation, acts on the current one', () => {
    const h = startGatewayHarness();
    h.startStable();
    h.socket.receive(serverFrames.reconnect());
    h.clock.flush();
    h.openWithHello().receive(serverFrames.resumed(1));
    expect(h.context.generation).toBe(2);

    h.actor.send({ type: 'socket.closed', generation: 1, code: 1006, reason: '' });
    h.actor.send({ type: 'gateway.reconnect', generation: 1 });
    h.actor.send({ type: 'gateway.invalidSession', generation: 1, resumable: false });
    expect(h.state).toBe('ready');
    expect(h.plans).toHaveLength(2);

    h.actor.send({ type: 'gateway.reconnect', generation: 2 });
    expect(h.planSummary().at(-1)).toBe('reconnectRequested:resume');
  });
});

describe('gateway: server requests', () => {
  it('op 7 resumes with no delay, closing the old socket with 4000', () => {
    const h = startGatewayHarness();
    const first = h.startReady('session-1', 1);
    first.receive(serverFrames.reconnect());
    expect(first.calls).toEqual([{ method: 'close', code: 4000 }]);
    h.clock.flush();
    expect(h.sockets.sockets).toHaveLength(2);
    expect(h.clock.now()).toBe(0);
    h.openWithHello().receive(serverFrames.resumed(1));

    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'connecting.resume', 'ready']);
    expect(h.socket.sentOps()).toEqual([GatewayOpcodes.Resume]);
    expect(h.planSummary()).toEqual(['start:fresh', 'reconnectRequested:resume']);
  });

  it('op 9 d=false → fresh after 1–5 s (3 s at rand 0.5): IDENTIFY, not RESUME, and a new sequence', () => {
    const h = startGatewayHarness();
    const first = h.startStable('session-1', 1);
    first.receive(serverFrames.dispatch('MESSAGE_CREATE', 42));
    first.receive(serverFrames.invalidSession(false));
    expect(first.calls).toEqual([{ method: 'close', code: 1000 }]);

    h.clock.advance(2_999);
    expect(h.sockets.sockets).toHaveLength(1);
    h.clock.advance(1);
    expect(h.sockets.sockets).toHaveLength(2);
    const second = h.openWithHello();
    expect(second.url).toBe(MAIN_URL);
    expect(second.sentOps()).toEqual([GatewayOpcodes.Identify]);
    second.receive(serverFrames.ready(1, 'session-2', null));
    // The old session's sequence (42) must not filter the new session's events.
    second.receive(serverFrames.dispatch('MESSAGE_CREATE', 2));
    second.receive(serverFrames.heartbeatRequest());

    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'connecting.fresh', 'ready']);
    expect(h.dispatches.map((payload) => payload.s)).toEqual([42, 2]);
    expect(second.sentFrames().at(-1)).toEqual({ op: GatewayOpcodes.Heartbeat, d: 2 });
    expect(h.context.session).toEqual({ sessionId: 'session-2', resumeUrl: null });
  });

  it('op 9 d=true → resume after 1–5 s (3 s at rand 0.5)', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).receive(serverFrames.invalidSession(true));
    h.clock.advance(2_999);
    expect(h.sockets.sockets).toHaveLength(1);
    h.clock.advance(1);
    h.openWithHello();
    expect(h.socket.sentFrames()).toEqual([{ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: 'session-1', seq: 1 } }]);
  });

  it('op 9 d=false during a RESUME handshake goes fresh', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    resuming.receive(serverFrames.invalidSession(false));
    h.clock.advance(3_000);
    const fresh = h.openWithHello();
    expect(fresh).not.toBe(resuming);
    expect(fresh.sentOps()).toEqual([GatewayOpcodes.Identify]);
    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume', 'invalidSession:fresh']);
  });
});

describe('gateway: stalls, timeouts and zombies', () => {
  it('HELLO stalls: resume, resume, then fresh on the third in a row', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    for (let stall = 1; stall <= 3; stall += 1) {
      const socket = h.socket;
      socket.open();
      h.clock.advance(30_000 - 1);
      expect(h.sockets.sockets).toHaveLength(stall + 1);
      h.clock.advance(1);
      h.clock.runUntil(() => h.socket !== socket, 60_000);
    }
    const fresh = h.openWithHello();

    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume', 'helloTimeout:resume', 'helloTimeout:resume', 'helloTimeout:fresh']);
    expect(h.reconnects).toEqual(['fresh', 'resume', 'resume', 'resume', 'fresh']);
    // The second stall on the resume URL moves the resume to the main URL; the third goes fresh.
    expect(h.sockets.sockets.map((socket) => socket.url)).toEqual([MAIN_URL, CHECKED_RESUME_URL, CHECKED_RESUME_URL, MAIN_URL, MAIN_URL]);
    expect(fresh.sentOps()).toEqual([GatewayOpcodes.Identify]);
    // stalled sockets are closed with 4000 while the session is kept, with 1000 once it is given up
    const stalled = h.sockets.sockets.slice(1, 4);
    expect(stalled.map((socket) => socket.calls)).toEqual([
      [{ method: 'close', code: 4000 }],
      [{ method: 'close', code: 4000 }],
      [{ method: 'close', code: 1000 }],
    ]);
    for (const socket of stalled) expect(socket.listenerCounts()).toEqual(onlyTheErrorSink);
  });

  it('a READY after a stall resets the ladder', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    h.socket.open();
    h.clock.advance(30_000);
    h.clock.runUntil(() => h.sockets.sockets.length === 3, 60_000);
    h.openWithHello().receive(serverFrames.resumed(1));
    expect(h.context.helloStalls).toBe(0);
    h.clock.advance(5_000);

    h.socket.peerClose(1006);
    h.clock.flush();
    for (let stall = 1; stall <= 2; stall += 1) {
      const socket = h.socket;
      socket.open();
      h.clock.advance(30_000);
      h.clock.runUntil(() => h.socket !== socket, 60_000);
    }
    expect(h.planSummary().slice(-3)).toEqual(['close:resume', 'helloTimeout:resume', 'helloTimeout:resume']);
  });

  it('READY timeout → fresh; a second READY timeout in a row → failed', () => {
    const h = startGatewayHarness();
    h.start();
    h.openWithHello();
    h.clock.advance(15_000 - 1);
    expect(h.sockets.sockets).toHaveLength(1);
    h.clock.advance(1);
    expect(h.sockets.sockets[0]!.calls).toEqual([{ method: 'close', code: 1000 }]);
    h.clock.runUntil(() => h.sockets.sockets.length === 2, 60_000);
    const second = h.openWithHello();
    expect(second.sentOps()).toEqual([GatewayOpcodes.Identify]);
    h.clock.advance(15_000);
    h.clock.advance(10 * 60_000);

    expect(h.reconnects).toEqual(['fresh', 'fresh']);
    expect(h.states).toEqual(['idle', 'connecting.fresh', 'closing', 'failed']);
    expect(h.output).toEqual({
      status: 'failed',
      failure: { message: expect.stringContaining('READY'), trigger: { type: 'readyTimeout', handshake: 'identify' } },
    });
    expect(h.sockets.sockets).toHaveLength(2);
    expect(second.calls).toEqual([{ method: 'close', code: 1000 }]);
  });

  it('no RESUMED after RESUME → fresh with IDENTIFY', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    h.clock.advance(15_000);
    expect(resuming.calls).toEqual([{ method: 'close', code: 1000 }]);
    h.clock.runUntil(() => h.socket !== resuming, 60_000);
    expect(h.openWithHello().sentOps()).toEqual([GatewayOpcodes.Identify]);
    expect(h.planSummary().at(-1)).toBe('readyTimeout:fresh');
  });

  it('a socket that never opens times out after the connect timeout and is retried', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const stuck = h.socket;
    h.clock.advance(10_000 - 1);
    expect(stuck.calls).toEqual([]);
    h.clock.advance(1);
    expect(h.planSummary().at(-1)).toBe('connectTimeout:resume');
    expect(stuck.calls).toEqual([{ method: 'close', code: 4000 }]);
    h.clock.runUntil(() => h.socket !== stuck, 60_000);
  });

  it('heartbeats every interval with the last sequence while acked, the first within one interval of HELLO', () => {
    const h = startGatewayHarness();
    const socket = h.startReady('session-1', 1);
    // Beats start at HELLO, the first after interval × random, and go on from the handshake into
    // the ready session on the same timer: READY changes nothing about them.
    const firstBeat = HEARTBEAT_INTERVAL * RANDOM;
    h.clock.advance(firstBeat - 1);
    expect(socket.sentOps()).toEqual([GatewayOpcodes.Identify]);
    h.clock.advance(1);
    socket.receive(serverFrames.heartbeatAck());
    socket.receive(serverFrames.dispatch('MESSAGE_CREATE', 9));
    for (let beat = 0; beat < 4; beat += 1) {
      h.clock.advance(HEARTBEAT_INTERVAL);
      socket.receive(serverFrames.heartbeatAck());
    }
    const beats = socket.sentFrames().filter((frame) => frame.op === GatewayOpcodes.Heartbeat);
    expect(beats).toEqual([
      { op: 1, d: 1 },
      { op: 1, d: 9 },
      { op: 1, d: 9 },
      { op: 1, d: 9 },
      { op: 1, d: 9 },
    ]);
    expect(h.state).toBe('ready');
    expect(h.sockets.sockets).toHaveLength(1);
  });

  it('zombie: an unacked beat terminates the socket at once (no close handshake) and resumes', () => {
    const h = startGatewayHarness();
    const first = h.startReady('session-1', 1);
    h.clock.advance(5_000);
    const zombieAt = HEARTBEAT_INTERVAL * RANDOM + HEARTBEAT_INTERVAL;
    h.clock.advance(zombieAt - 5_000 - 1);
    expect(first.calls).toEqual([]);
    h.clock.advance(1);

    expect(first.calls).toEqual([{ method: 'terminate' }]);
    expect(h.planSummary().at(-1)).toBe('zombie:resume');
    expect(h.sockets.sockets).toHaveLength(2);
    expect(h.clock.now()).toBe(zombieAt);
    h.openWithHello().receive(serverFrames.resumed(1));
    expect(h.states).toEqual(['idle', 'connecting.fresh', 'ready', 'connecting.resume', 'ready']);
    expect(h.socket.sentOps()).toEqual([GatewayOpcodes.Resume]);
  });

  it('a failed drain fails closed: no new socket beside the one that would not close', () => {
    const h = startGatewayHarness();
    const first = h.startReady();
    first.behaviour = { onClose: 'hangs', onTerminate: 'hangs' };
    first.receive(serverFrames.reconnect());
    h.clock.advance(5_000 + 1_000 - 1);
    expect(h.status).toBe('active');
    h.clock.advance(1);

    expect(first.calls).toEqual([{ method: 'close', code: 4000 }, { method: 'terminate' }]);
    expect(h.states.at(-1)).toBe('failed');
    expect(h.output).toEqual({ status: 'failed', failure: { message: expect.any(String), trigger: { type: 'drainFailed' } } });
    h.clock.advance(10 * 60_000);
    expect(h.sockets.sockets).toHaveLength(1);
  });
});
