import { GatewayOpcodes } from 'discord-api-types/v10';
import { connectionOf } from '../../src/connection/connection.ts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serverFrames } from '../support/discordFrames.ts';
import { HEARTBEAT_INTERVAL, MAIN_URL, RESUME_URL, startGatewayHarness, type GatewayHarness } from '../support/gatewayHarness.ts';
import type { IdentifyTurnHandle } from '../../src/types.ts';

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A hand-driven identify gate: each call waits until the test grants or denies it. */
function manualGate() {
  const calls: { signal: AbortSignal; grant: () => void; deny: (error: Error) => void }[] = [];
  const beforeIdentify = (signal: AbortSignal) =>
    new Promise<void>((grant, deny) => {
      calls.push({ signal, grant, deny });
    });
  return { calls, beforeIdentify };
}

/** A gate that answers with a handle, recording what the attempt told it. */
function handleGate() {
  const told: string[] = [];
  const calls: { signal: AbortSignal; grant: () => void }[] = [];
  const beforeIdentify = (signal: AbortSignal) =>
    new Promise<IdentifyTurnHandle>((resolve) => {
      const n = calls.length;
      calls.push({
        signal,
        grant: () => resolve({ sent: () => told.push(`sent ${n}`), release: () => told.push(`release ${n}`) }),
      });
    });
  return { told, calls, beforeIdentify };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Sends start and runs the immediate first attempt, which with a gate waits for its turn: no socket yet. */
function begin(h: GatewayHarness) {
  h.actor.send({ type: 'start' });
  h.clock.flush();
}

/** Advances the clock through the retry delay until the gateway has asked for its next turn. */
function untilNextTurn(h: GatewayHarness, calls: unknown[]) {
  const previous = calls.length;
  for (let waited = 0; calls.length === previous; waited += 50) {
    if (waited > 60_000) throw new Error('no new turn asked within 60 s');
    h.clock.advance(50);
  }
}

/** Advances the clock through the retry delay until the gateway has made its next socket. */
function untilNextSocket(h: GatewayHarness) {
  const previous = h.sockets.sockets.length;
  for (let waited = 0; h.sockets.sockets.length === previous; waited += 50) {
    if (waited > 60_000) throw new Error('no new socket within 60 s');
    h.clock.advance(50);
  }
  return h.sockets.latest;
}

describe('identify turn (beforeIdentify)', () => {
  it('waits for the turn before any socket opens, then IDENTIFYs at HELLO', async () => {
    const gate = manualGate();
    const h = startGatewayHarness({}, { beforeIdentify: gate.beforeIdentify });
    begin(h);
    expect(h.phases.at(-1)).toBe('fresh:awaitingTurn');
    expect(gate.calls).toHaveLength(1);
    // No socket while the shard waits: a turn can be minutes (or hours) away.
    expect(h.sockets.sockets).toHaveLength(0);

    gate.calls[0]!.grant();
    await settle();
    expect(h.phases.at(-1)).toBe('fresh:handshake.opening');
    const socket = h.openWithHello();
    expect(h.phases.at(-1)).toBe('fresh:handshake.identifying');
    expect(socket.sentFrames()).toEqual([{ op: GatewayOpcodes.Identify, d: expect.anything() }]);
    socket.receive(serverFrames.ready(1, 'session-1', RESUME_URL));
    expect(h.state).toBe('ready');
    expect(h.sockets.sockets).toHaveLength(1);
  });

  it('a stop while waiting aborts the wait, and no socket is ever made', async () => {
    const gate = manualGate();
    const h = startGatewayHarness({}, { beforeIdentify: gate.beforeIdentify });
    begin(h);
    h.actor.send({ type: 'stop' });
    expect(gate.calls[0]!.signal.aborted).toBe(true);
    gate.calls[0]!.grant();
    await settle();
    expect(h.status).toBe('done');
    expect(h.sockets.sockets).toHaveLength(0);
  });

  it('tells a handle when the IDENTIFY went out, once, and never releases a used turn', async () => {
    const gate = handleGate();
    const h = startGatewayHarness({}, { beforeIdentify: gate.beforeIdentify });
    begin(h);
    gate.calls[0]!.grant();
    await settle();
    const socket = h.sockets.latest;
    socket.open();
    expect(gate.told).toEqual([]);
    socket.receive(serverFrames.hello(HEARTBEAT_INTERVAL));
    expect(gate.told).toEqual(['sent 0']);
    socket.receive(serverFrames.ready(1, 'session-1', RESUME_URL));
    // The IDENTIFY's connection fails later: the turn was used, so nothing is given back.
    socket.peerClose(1006);
    h.clock.flush();
    expect(gate.told).toEqual(['sent 0']);
  });

  it('gives the turn back when the socket fails before its IDENTIFY, and asks again', async () => {
    const gate = handleGate();
    const h = startGatewayHarness({}, { beforeIdentify: gate.beforeIdentify });
    begin(h);
    gate.calls[0]!.grant();
    await settle();
    const first = h.sockets.latest;
    first.open();
    first.peerClose(1006);
    expect(gate.told).toEqual(['release 0']);
    expect(first.sentFrames()).toEqual([]);

    untilNextTurn(h, gate.calls);
    gate.calls[1]!.grant();
    await settle();
    const second = h.openWithHello();
    expect(second).not.toBe(first);
    expect(second.sentFrames()).toEqual([{ op: GatewayOpcodes.Identify, d: expect.anything() }]);
    expect(gate.told).toEqual(['release 0', 'sent 1']);
  });

  it('a turn granted as its attempt ended is given back at once', async () => {
    const gate = handleGate();
    const h = startGatewayHarness({}, { beforeIdentify: gate.beforeIdentify });
    begin(h);
    h.actor.send({ type: 'stop' });
    gate.calls[0]!.grant();
    await settle();
    expect(gate.told).toEqual(['release 0']);
    expect(h.sockets.sockets).toHaveLength(0);
  });

  it('a handle that throws does not end the attempt', async () => {
    const h = startGatewayHarness(
      {},
      {
        beforeIdentify: () =>
          Promise.resolve({
            sent: () => {
              throw new Error('queue bookkeeping broke');
            },
            release: () => {},
          }),
      },
    );
    begin(h);
    await settle();
    const socket = h.openWithHello();
    socket.receive(serverFrames.ready(1, 'session-1', RESUME_URL));
    expect(h.state).toBe('ready');
  });

  it('a gate that fails ends the attempt with identifyPermitFailed, and a fresh attempt follows', async () => {
    const gate = manualGate();
    const h = startGatewayHarness({}, { beforeIdentify: gate.beforeIdentify });
    begin(h);
    gate.calls[0]!.deny(new Error('queue broke'));
    await settle();
    expect(h.planSummary()).toEqual(['start:fresh', 'identifyPermitFailed:fresh']);
    expect(h.state).toBe('connecting.fresh');
    expect(h.sockets.sockets).toHaveLength(0);
  });

  it('never gates a RESUME', async () => {
    const gate = manualGate();
    const h = startGatewayHarness({}, { beforeIdentify: gate.beforeIdentify });
    begin(h);
    gate.calls[0]!.grant();
    await settle();
    const socket = h.openWithHello();
    socket.receive(serverFrames.ready(5, 'session-1', RESUME_URL));
    socket.peerClose(1006);
    untilNextSocket(h);
    const resumed = h.openWithHello();
    expect(h.phases.at(-1)).toBe('resume:handshake.resuming');
    expect(resumed.sentFrames()).toEqual([{ op: GatewayOpcodes.Resume, d: expect.objectContaining({ session_id: 'session-1', seq: 5 }) }]);
    expect(gate.calls).toHaveLength(1);
  });
});

describe('session as plain data', () => {
  const restored = { sessionId: 'restored-1', sequence: 42, resumeUrl: RESUME_URL };

  it('a session handed in is resumed on the first connect, from its sequence, on its resume URL', () => {
    const h = startGatewayHarness({ session: restored });
    const socket = h.start();
    expect(h.state).toBe('connecting.resume');
    expect(socket.url.startsWith(RESUME_URL)).toBe(true);
    h.openWithHello();
    expect(socket.sentFrames()).toEqual([{ op: GatewayOpcodes.Resume, d: expect.objectContaining({ session_id: 'restored-1', seq: 42 }) }]);
    socket.receive(serverFrames.resumed(43));
    expect(h.state).toBe('ready');
    expect(h.planSummary()).toEqual(['start:resume']);
  });

  it('falls back to IDENTIFY on the main URL when the server refuses the restored session', () => {
    const h = startGatewayHarness({ session: restored });
    const socket = h.start();
    h.openWithHello();
    socket.receive(serverFrames.invalidSession(false));
    untilNextSocket(h);
    const fresh = h.openWithHello();
    expect(fresh.url).toBe(MAIN_URL);
    expect(fresh.sentFrames()).toEqual([{ op: GatewayOpcodes.Identify, d: expect.anything() }]);
    expect(h.context.session).toBeNull();
  });

  it('a restored resume URL that breaks the rule is dropped for the main URL', () => {
    const h = startGatewayHarness({ session: { ...restored, resumeUrl: 'wss://evil.example.com' } });
    const socket = h.start();
    expect(socket.url).toBe(MAIN_URL);
  });

  it('stop({ keepSession }) closes with 4000 and keeps the session; a plain stop closes with 1000 and ends it', () => {
    const kept = startGatewayHarness();
    const keptSocket = kept.startReady('session-k', 7);
    kept.actor.send({ type: 'stop', keepSession: true });
    expect(keptSocket.calls).toEqual([{ method: 'close', code: 4000 }]);
    expect(kept.status).toBe('done');
    expect(kept.context.session).toEqual(expect.objectContaining({ sessionId: 'session-k' }));
    expect(connectionOf(kept.context.connection).ledger.seq).toBe(7);

    const ended = startGatewayHarness();
    const endedSocket = ended.startReady('session-e', 7);
    ended.actor.send({ type: 'stop' });
    expect(endedSocket.calls).toEqual([{ method: 'close', code: 1000 }]);
    expect(ended.context.session).toBeNull();
  });
});
