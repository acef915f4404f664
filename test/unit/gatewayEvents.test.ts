import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createGateway, discordProtocol, GatewayError, type GatewayOptions, type HeartbeatRoundTrip } from '../../src/index.ts';
import * as debugLines from '../../src/api/debugLines.ts';
import { serverFrames } from '../support/discordFrames.ts';
import { FakeSocketFactory } from '../support/fakeSocket.ts';
import { ManualClock } from '../support/manualClock.ts';

vi.mock('../../src/api/debugLines.ts', async (importOriginal) => {
  const original = await importOriginal<typeof debugLines>();
  return {
    debugLineOfPlan: vi.fn(original.debugLineOfPlan),
    debugLineOfPhase: vi.fn(original.debugLineOfPhase),
    debugLineOfState: vi.fn(original.debugLineOfState),
  };
});

afterEach(() => {
  vi.useRealTimers();
  vi.clearAllMocks();
});

function fakeGateway(options: Partial<GatewayOptions> = {}) {
  const clock = new ManualClock();
  const sockets = new FakeSocketFactory();
  const machineEvents: string[] = [];
  const gateway = createGateway({
    url: 'wss://gateway.discord.gg/?v=10&encoding=json',
    protocol: discordProtocol({ token: 'events-token', intents: 1 }),
    createSocket: sockets.create,
    clock,
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.event') machineEvents.push(event.event.type);
    },
    ...options,
  });
  onTestFinished(() => void gateway.actor.stop());
  const handshake = () => {
    clock.flush();
    const socket = sockets.latest;
    socket.open();
    socket.receive(serverFrames.hello());
    socket.receive(serverFrames.ready(1, 'session-1', 'wss://r.discord.gg'));
    return socket;
  };
  return { gateway, clock, sockets, machineEvents, handshake };
}

describe('heartbeat events', () => {
  it('each ACK of a heartbeat gives its round trip from the socket, with no statechart event', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    const { gateway, machineEvents, handshake } = fakeGateway();
    const beats: HeartbeatRoundTrip[] = [];
    gateway.on('heartbeat', (beat) => beats.push(beat));
    void gateway.start();
    const socket = handshake();
    expect(gateway.latency()).toBeNull();

    socket.receive(serverFrames.heartbeatRequest());
    expect(socket.sentOps().at(-1)).toBe(1);
    vi.setSystemTime(1_000_042);
    const eventsBefore = machineEvents.length;
    socket.receive(serverFrames.heartbeatAck());

    expect(beats).toEqual([{ latencyMs: 42, sentAt: 1_000_000, ackedAt: 1_000_042 }]);
    expect(gateway.latency()).toBe(42);
    expect(machineEvents.slice(eventsBefore)).toEqual([]);

    // An ACK that answers no heartbeat measures nothing.
    socket.receive(serverFrames.heartbeatAck());
    expect(beats).toHaveLength(1);
  });
});

describe('debug lines', () => {
  it('are not built when nobody listens, and are when someone does', () => {
    const { gateway, sockets, clock, handshake } = fakeGateway();
    void gateway.start();
    handshake();
    sockets.latest.receive(serverFrames.dispatch('MESSAGE_CREATE', 2));
    sockets.latest.peerClose(1006);
    clock.advance(10_000); // past any backoff: the resume's socket is made
    expect(vi.mocked(debugLines.debugLineOfPlan)).not.toHaveBeenCalled();
    expect(vi.mocked(debugLines.debugLineOfPhase)).not.toHaveBeenCalled();
    expect(vi.mocked(debugLines.debugLineOfState)).not.toHaveBeenCalled();

    const lines: string[] = [];
    gateway.on('debug', (line) => lines.push(line));
    const socket = sockets.latest;
    socket.open();
    socket.receive(serverFrames.hello());
    socket.receive(serverFrames.resumed(3));
    expect(lines).toEqual([
      'socket opened; waiting for HELLO',
      'HELLO received; RESUME sent',
      'RESUMED: session ready again, 0 events replayed',
    ]);
  });
});

describe('error events', () => {
  it('an error of the open socket arrives as a GatewayError SOCKET_ERROR with the socket error as cause', () => {
    const { gateway, handshake } = fakeGateway();
    const errors: unknown[] = [];
    gateway.on('error', (error) => errors.push(error));
    void gateway.start();
    const socket = handshake();
    const cause = new Error('read ECONNRESET');
    socket.emitError(cause);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(GatewayError);
    expect(errors[0]).toMatchObject({ code: 'SOCKET_ERROR', message: 'read ECONNRESET', cause });
  });
});
