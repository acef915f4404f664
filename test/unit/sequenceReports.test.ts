import { connectionOf } from '../../src/connection/connection.ts';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/api/errors.ts';
import { serverFrames } from '../support/discordFrames.ts';
import { startGatewayHarness } from '../support/gatewayHarness.ts';

/**
 * Exactly-once means: each sequence number reaches the listener at most once, in increasing order.
 * The server can still skip or reorder; the gateway does not buffer to repair that, but it says so.
 */
const codes = (errors: Error[]) =>
  errors.map((error) => (error instanceof GatewayError ? `${error.code}: ${error.message}` : error.message));

describe('sequence gaps and regressions', () => {
  it('2,3,4,3,10,5..9,11: delivers 2,3,4,10,11; reports the gap 5–9 and each event it drops', () => {
    const h = startGatewayHarness();
    const socket = h.startReady('session-1', 1);
    for (const s of [2, 3, 4, 3, 10, 5, 6, 7, 8, 9, 11]) socket.receive(serverFrames.dispatch('MESSAGE_CREATE', s));

    expect(h.dispatches.map((payload) => payload.s)).toEqual([2, 3, 4, 10, 11]);
    const reported = codes(h.errors);
    expect(reported).toEqual([
      expect.stringMatching(/^SEQUENCE_DROPPED: .*\b3\b.*after 4/),
      expect.stringMatching(/^SEQUENCE_GAP: .*5–9/),
      ...[5, 6, 7, 8, 9].map((s) => expect.stringMatching(new RegExp(`^SEQUENCE_DROPPED: .*\\b${s}\\b.*after 10`))),
    ]);
    expect(connectionOf(h.context.connection).ledger.dropped).toBe(6);
    expect(h.state).toBe('ready');
  });

  it('a gap of one event names it alone', () => {
    const h = startGatewayHarness();
    const socket = h.startReady('session-1', 1);
    socket.receive(serverFrames.dispatch('MESSAGE_CREATE', 3));
    expect(codes(h.errors)).toEqual([expect.stringMatching(/^SEQUENCE_GAP: .*event 2 /)]);
  });

  it('events a resume replays again (already delivered) are dropped quietly: that is how a resume works', () => {
    const h = startGatewayHarness();
    const first = h.startStable('session-1', 1);
    for (const s of [2, 3]) first.receive(serverFrames.dispatch('MESSAGE_CREATE', s));
    first.peerClose(1006);
    h.clock.flush();
    const second = h.openWithHello();
    for (const s of [2, 3, 4]) second.receive(serverFrames.dispatch('MESSAGE_CREATE', s));
    second.receive(serverFrames.resumed(5));
    expect(h.dispatches.map((payload) => payload.s)).toEqual([2, 3, 4]);
    expect(h.errors.filter((error) => error instanceof GatewayError && error.code.startsWith('SEQUENCE'))).toEqual([]);
    expect(connectionOf(h.context.connection).ledger.dropped).toBe(2);
  });
});
