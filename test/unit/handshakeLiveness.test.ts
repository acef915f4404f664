import { GatewayOpcodes } from 'discord-api-types/v10';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultTimeouts } from '../../src/core/defaults.ts';
import { serverFrames } from '../support/discordFrames.ts';
import { HEARTBEAT_INTERVAL, startGatewayHarness } from '../support/gatewayHarness.ts';

/**
 * The handshake timeout measures silence, and heartbeats start at HELLO: a resume whose replay takes
 * longer than `timeouts.ready` is neither thrown away nor left without heartbeats.
 */

const RANDOM = 0.5;
const READY = defaultTimeouts.ready;

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(RANDOM);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const beatsOn = (socket: { sentFrames(): { op: number; d?: unknown }[] }) =>
  socket.sentFrames().filter((frame) => frame.op === GatewayOpcodes.Heartbeat);

describe('the handshake timeout measures silence', () => {
  it('a replay that runs three times the READY timeout ends in RESUMED, every event delivered once', () => {
    const h = startGatewayHarness();
    const first = h.startStable('session-1', 1);
    first.peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    expect(resuming.sentOps()).toEqual([GatewayOpcodes.Resume]);
    // One replayed event every half READY timeout, for three READY timeouts.
    let seq = 1;
    for (let elapsed = 0; elapsed < 3 * READY; elapsed += READY / 2) {
      h.clock.advance(READY / 2);
      seq += 1;
      resuming.receive(serverFrames.dispatch('MESSAGE_CREATE', seq));
      resuming.receive(serverFrames.heartbeatAck());
    }
    resuming.receive(serverFrames.resumed(seq + 1));

    expect(h.state).toBe('ready');
    expect(h.context.lastHandshake).toBe('resume');
    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume']);
    expect(h.dispatches.map((payload) => payload.s)).toEqual(Array.from({ length: seq - 1 }, (_, i) => i + 2));
    expect(h.sockets.sockets).toHaveLength(2);
  });

  it('nothing at all for READY ms after RESUME is still a timeout (fresh)', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    h.clock.advance(READY - 1);
    expect(resuming.calls).toEqual([]);
    h.clock.advance(1);
    expect(h.planSummary().at(-1)).toBe('readyTimeout:fresh');
  });

  it('heartbeat ACKs alone do not keep a handshake alive: a server that never answers RESUME times out', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello(1_000);
    for (let elapsed = 0; elapsed < 2 * READY; elapsed += 500) {
      h.clock.advance(500);
      if (resuming.calls.length === 0) resuming.receive(serverFrames.heartbeatAck());
    }
    expect(h.planSummary()).toContain('readyTimeout:fresh');
  });

  it('the timeout fires at the end of the first whole READY window with nothing received', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    h.clock.advance(READY / 2);
    resuming.receive(serverFrames.dispatch('MESSAGE_CREATE', 2));
    // The first window had a frame; the second has none and ends the handshake.
    h.clock.advance(READY * 1.5 - 1);
    expect(h.planSummary()).not.toContain('readyTimeout:fresh');
    h.clock.advance(1);
    expect(h.planSummary().at(-1)).toBe('readyTimeout:fresh');
  });
});

describe('heartbeats start at HELLO', () => {
  it('the first beat comes at interval × random after HELLO, while the handshake is still waiting', () => {
    const h = startGatewayHarness({ timeouts: { ready: 120_000 } });
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    h.clock.advance(HEARTBEAT_INTERVAL * RANDOM - 1);
    expect(beatsOn(resuming)).toEqual([]);
    h.clock.advance(1);
    expect(beatsOn(resuming)).toEqual([{ op: 1, d: 1 }]);
    resuming.receive(serverFrames.heartbeatAck());
    h.clock.advance(HEARTBEAT_INTERVAL);
    expect(beatsOn(resuming)).toHaveLength(2);
    expect(h.state).toBe('connecting.resume');
  });

  it('a long replay is not taken for a zombie: frames count as signs of life during the handshake', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const resuming = h.openWithHello();
    let seq = 1;
    // Events keep coming, ACKs do not (queued behind the replay): no zombie, no timeout.
    for (let elapsed = 0; elapsed < 3 * HEARTBEAT_INTERVAL; elapsed += 5_000) {
      h.clock.advance(5_000);
      resuming.receive(serverFrames.dispatch('GUILD_CREATE', (seq += 1)));
    }
    resuming.receive(serverFrames.resumed(seq + 1));
    expect(h.state).toBe('ready');
    expect(h.planSummary()).toEqual(['start:fresh', 'close:resume']);
    expect(beatsOn(resuming).length).toBeGreaterThanOrEqual(3);
  });

  it('the beats go on across READY: never more than one interval apart', () => {
    const h = startGatewayHarness();
    h.startStable('session-1', 1).peerClose(1006);
    h.clock.flush();
    const beatTimes: number[] = [];
    const resuming = h.openWithHello();
    const originalSend = resuming.send.bind(resuming);
    resuming.send = (data: string, done?: (error?: Error) => void) => {
      if ((JSON.parse(data) as { op: number }).op === GatewayOpcodes.Heartbeat) beatTimes.push(h.clock.now());
      originalSend(data, done);
    };
    const helloAt = h.clock.now();
    for (let elapsed = 0; elapsed < 30_000; elapsed += 5_000) {
      h.clock.advance(5_000);
      resuming.receive(serverFrames.heartbeatAck());
      resuming.receive(serverFrames.dispatch('GUILD_CREATE', 2 + elapsed / 5_000));
    }
    resuming.receive(serverFrames.resumed(100));
    for (let elapsed = 0; elapsed < 3 * HEARTBEAT_INTERVAL; elapsed += 5_000) {
      h.clock.advance(5_000);
      resuming.receive(serverFrames.heartbeatAck());
    }
    expect(h.state).toBe('ready');
    const gaps = [beatTimes[0]! - helloAt, ...beatTimes.slice(1).map((at, i) => at - beatTimes[i]!)];
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(HEARTBEAT_INTERVAL);
  });
});
