import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freshReconnectMachine } from '../../src/machines/freshReconnectMachine.ts';
import type { ReconnectInput } from '../../src/machines/reconnectCourse.ts';
import { resumeReconnectMachine } from '../../src/machines/resumeReconnectMachine.ts';
import { SocketLine } from '../../src/connection/socketLine.ts';
import { defaultBackoff, defaultTimeouts } from '../../src/core/defaults.ts';
import { FakeSocket, type FakeSocketBehaviour } from '../support/fakeSocket.ts';
import { ManualClock } from '../support/manualClock.ts';
import { hostReconnect } from '../support/reconnectHost.ts';
import { openConnection } from '../../src/connection/connection.ts';

const GEN = 3;
const URL = 'wss://gateway.discord.gg/?v=10&encoding=json';

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.restoreAllMocks();
});

function baseInput(overrides: Partial<ReconnectInput> = {}): ReconnectInput {
  return {
    connection: openConnection(),
    generation: GEN,
    url: URL,
    delay: 'none',
    drain: 'close',
    attempt: 1,
    timeouts: defaultTimeouts,
    backoff: defaultBackoff,
    ...overrides,
  };
}

function lineWithOpenSocket(behaviour: FakeSocketBehaviour) {
  const line = new SocketLine();
  const socket = line.open(() => new FakeSocket(URL, behaviour)) as FakeSocket;
  socket.readyState = 1;
  return { line, socket };
}

function runFresh(input: ReconnectInput) {
  const clock = new ManualClock();
  const host = hostReconnect(freshReconnectMachine, input, clock);
  return { ...host, clock, socket: host };
}

function runResume(input: ReconnectInput, sessionId = 'session-1') {
  const clock = new ManualClock();
  const host = hostReconnect(resumeReconnectMachine, { ...input, sessionId }, clock);
  return { ...host, clock, socket: host };
}

describe('freshReconnect', () => {
  it('drains, opens, waits for HELLO, IDENTIFYs and ends ready with the new session', () => {
    const { actor, clock, socket, states } = runFresh(baseInput());
    clock.flush();
    expect(socket.requests).toEqual([{ generation: GEN, url: URL }]);
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 41_250 });
    expect(socket.commands).toEqual([{ type: 'identify' }]);
    socket.emit({ type: 'gateway.ready', generation: GEN, sessionId: 'abc', resumeUrl: 'wss://r.discord.gg' });

    expect(states).toEqual([
      'draining',
      'waiting',
      'awaitingTurn',
      'handshake.opening',
      'handshake.awaitingHello',
      'handshake.identifying',
      'ready',
    ]);
    expect(actor.getSnapshot().output).toEqual({
      ok: true,
      handshake: 'identify',
      heartbeatInterval: 41_250,
      session: { sessionId: 'abc', resumeUrl: 'wss://r.discord.gg' },
    });
    expect(clock.pending).toBe(0);
  });

  it('ignores events from a socket of another generation', () => {
    const { actor, clock, socket, states } = runFresh(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN - 1 });
    socket.emit({ type: 'socket.closed', generation: GEN - 1, code: 1006, reason: '' });
    socket.emit({ type: 'gateway.reconnect', generation: GEN - 1 });
    expect(states.at(-1)).toBe('handshake.opening');
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('never sends RESUME, even when HELLO and RESUMED-like events arrive', () => {
    const { clock, socket } = runFresh(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 1_000 });
    socket.emit({ type: 'gateway.resumed', generation: GEN });
    expect(socket.commands.map((command) => command.type)).toEqual(['identify']);
  });

  it('closes the old socket with 1000 (the session is abandoned) before opening', () => {
    const { line, socket: old } = lineWithOpenSocket({ onClose: 'hangs', onTerminate: 'hangs' });
    const { clock, socket, states } = runFresh(baseInput({ connection: openConnection({ line }) }));
    expect(old.calls).toEqual([{ method: 'close', code: 1000 }]);
    clock.flush();
    expect(socket.requests).toHaveLength(0);
    old.finishClose(1000);
    clock.flush();
    expect(socket.requests).toHaveLength(1);
    expect(states.slice(0, 4)).toEqual(['draining', 'waiting', 'awaitingTurn', 'handshake.opening']);
  });

  it('terminates the old socket at once when asked to (zombie)', () => {
    const { line, socket: old } = lineWithOpenSocket({ onClose: 'closes', onTerminate: 'closes' });
    runFresh(baseInput({ connection: openConnection({ line }), drain: 'terminate' }));
    expect(old.calls).toEqual([{ method: 'terminate' }]);
  });

  it('ends with drainFailed when the old socket never closes, without opening a socket', () => {
    const { line } = lineWithOpenSocket({ onClose: 'hangs', onTerminate: 'hangs' });
    const { actor, clock, socket } = runFresh(baseInput({ connection: openConnection({ line }) }));
    clock.advance(6_000);
    expect(actor.getSnapshot().output).toEqual({ ok: false, trigger: { type: 'drainFailed' } });
    expect(socket.requests).toHaveLength(0);
  });

  it('waits the retry delay before opening (invalid session: 3 s at rand 0.5)', () => {
    const { clock, socket } = runFresh(baseInput({ delay: 'invalidSession' }));
    clock.advance(2_999);
    expect(socket.requests).toHaveLength(0);
    clock.advance(1);
    expect(socket.requests).toHaveLength(1);
  });

  it.each([
    ['connect', 'connectTimeout', 10_000, 0],
    ['hello', 'helloTimeout', 30_000, 1],
    ['ready', 'readyTimeout', 15_000, 2],
  ] as const)('times out waiting for %s after exactly its timeout', (_label, type, timeout, stepsBefore) => {
    const { actor, clock, socket } = runFresh(baseInput());
    clock.flush();
    if (stepsBefore >= 1) socket.emit({ type: 'socket.open', generation: GEN });
    // An interval longer than the ready timeout: the heartbeat does not see a zombie first.
    if (stepsBefore >= 2) socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 41_250 });
    clock.advance(timeout - 1);
    expect(actor.getSnapshot().status).toBe('active');
    clock.advance(1);
    const trigger = type === 'readyTimeout' ? { type, handshake: 'identify' } : { type };
    expect(actor.getSnapshot().output).toEqual({ ok: false, trigger });
  });

  it.each([
    [
      { type: 'socket.closed', generation: GEN, code: 4004, reason: 'auth' },
      { type: 'close', code: 4004, reason: 'auth', beforeHello: true },
    ],
    [
      { type: 'gateway.invalidSession', generation: GEN, resumable: false },
      { type: 'invalidSession', resumable: false },
    ],
    [{ type: 'gateway.reconnect', generation: GEN }, { type: 'reconnectRequested' }],
    [
      { type: 'gateway.malformed', generation: GEN, reason: 'bad' },
      { type: 'protocolError', reason: 'bad' },
    ],
  ] as const)('a handshake ended by %o reports it as its trigger', (event, trigger) => {
    const { actor, clock, socket } = runFresh(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit(event);
    expect(actor.getSnapshot().output).toEqual({ ok: false, trigger });
  });

  it('a socket that could not be created ends the attempt as a failed connection, with its cause', () => {
    const { actor, clock, socket } = runFresh(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.createFailed', generation: GEN, message: 'createSocket threw: refused' });
    expect(actor.getSnapshot().output).toEqual({
      ok: false,
      trigger: { type: 'connectFailed', stage: 'create', cause: { message: 'createSocket threw: refused' } },
    });
  });
});

describe('resumeReconnect', () => {
  it('closes the old socket with 4000, opens on its URL and sends RESUME with the session id', () => {
    const { line, socket: old } = lineWithOpenSocket({ onClose: 'closes', onTerminate: 'closes' });
    const { actor, clock, socket, states } = runResume(
      baseInput({ connection: openConnection({ line }), url: 'wss://r.discord.gg/' }),
      'session-9',
    );
    expect(old.calls).toEqual([{ method: 'close', code: 4000 }]);
    clock.flush();
    expect(socket.requests).toEqual([{ url: 'wss://r.discord.gg/', generation: GEN }]);
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 45_000 });
    expect(socket.commands).toEqual([{ type: 'resume', sessionId: 'session-9' }]);
    socket.emit({ type: 'gateway.resumed', generation: GEN });

    expect(states).toEqual(['draining', 'waiting', 'handshake.opening', 'handshake.awaitingHello', 'handshake.resuming', 'resumed']);
    // a resume keeps the session it had: no session in the output
    expect(actor.getSnapshot().output).toEqual({ ok: true, handshake: 'resume', heartbeatInterval: 45_000 });
  });

  it('ignores READY and events of other generations while resuming', () => {
    const { actor, clock, socket } = runResume(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 1_000 });
    socket.emit({ type: 'gateway.resumed', generation: GEN + 1 });
    socket.emit({ type: 'gateway.ready', generation: GEN, sessionId: 'other', resumeUrl: null });
    expect(actor.getSnapshot().value).toEqual({ handshake: 'resuming' });
  });

  it('no RESUMED within the ready timeout ends with readyTimeout (resume)', () => {
    const { actor, clock, socket } = runResume(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 41_250 });
    clock.advance(15_000);
    expect(actor.getSnapshot().output).toEqual({ ok: false, trigger: { type: 'readyTimeout', handshake: 'resume' } });
  });

  it('a zombie reported by its socket during the handshake ends it with a zombie trigger; it sends no beat itself', () => {
    const { actor, clock, socket } = runResume(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 1_000 });
    clock.advance(2_000);
    expect(socket.commands).toEqual([{ type: 'resume', sessionId: 'session-1' }]);
    expect(actor.getSnapshot().status).toBe('active');
    socket.emit({ type: 'socket.zombie', generation: GEN - 1 });
    expect(actor.getSnapshot().status).toBe('active');
    socket.emit({ type: 'socket.zombie', generation: GEN });
    expect(actor.getSnapshot().output).toEqual({ ok: false, trigger: { type: 'zombie' } });
  });

  it('op 9 during the resume reports an invalid session', () => {
    const { actor, clock, socket } = runResume(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 1_000 });
    socket.emit({ type: 'gateway.invalidSession', generation: GEN, resumable: true });
    expect(actor.getSnapshot().output).toEqual({ ok: false, trigger: { type: 'invalidSession', resumable: true } });
  });

  it('backs off before opening when the attempt is not the first', () => {
    const { clock, socket } = runResume(baseInput({ delay: 'backoff', attempt: 3 }));
    // attempt 3: rand(0, 4 s) = 2 s at rand 0.5
    clock.advance(1_999);
    expect(socket.requests).toHaveLength(0);
    clock.advance(1);
    expect(socket.requests).toHaveLength(1);
  });

  it("stopped midway, it leaves no timer and no heartbeat behind (the socket is the gateway's, not its own)", () => {
    const { actor, clock, socket } = runResume(baseInput());
    clock.flush();
    socket.emit({ type: 'socket.open', generation: GEN });
    socket.emit({ type: 'gateway.hello', generation: GEN, heartbeatInterval: 1_000 });
    expect(clock.pending).toBeGreaterThan(0);
    socket.halt();
    expect(actor.getSnapshot().status).toBe('stopped');
    expect(clock.pending).toBe(0);
    expect(socket.requests).toHaveLength(1);
  });
});
