import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHarnesses, startHarness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

describe('chaos gateway: per-session figures and ending a session', () => {
  it('counts the dispatches of each session, READY and RESUMED excluded', async () => {
    const h = await startHarness();
    await h.gateway.start();
    const sessionId = h.gateway.actor.getSnapshot().context.session!.sessionId;
    for (let i = 0; i < 3; i += 1) h.server.dispatch();
    await h.waitFor(() => h.dispatches.length === 3, 'three dispatches');

    const resumed = h.waitForState((s) => s.state === 'ready' && s.handshake === 'resume', 'RESUMED', h.states.length);
    h.server.kill();
    await resumed;
    h.server.dispatch();
    await h.waitFor(() => h.dispatches.length === 4, 'a fourth dispatch');

    // READY is seq 1, RESUMED took seq 5; four dispatches.
    expect(h.server.sessionStats(sessionId)).toEqual({ seq: 6, dispatched: 4 });
    expect(h.server.sessionStats('no-such-session')).toBeUndefined();
  });

  it('answers a RESUME of an ended session with op 9 d=false, so the client starts afresh', async () => {
    const h = await startHarness();
    await h.gateway.start();
    const sessionId = h.gateway.actor.getSnapshot().context.session!.sessionId;
    h.server.dispatch();

    expect(h.server.endSession(sessionId)).toBe(true);
    expect(h.server.endSession(sessionId)).toBe(false);
    expect(h.server.sessionStats(sessionId)).toBeUndefined();
    expect(h.server.dispatch()).toBe(0);

    const fresh = h.waitForState((s) => s.state === 'ready' && s.handshake === 'identify', 'READY after IDENTIFY', h.states.length);
    h.server.kill();
    await fresh;
    expect(h.handshakes()).toEqual(['IDENTIFY', 'RESUME', 'IDENTIFY']);
    expect(h.gateway.actor.getSnapshot().context.session!.sessionId).not.toBe(sessionId);
  });
});
