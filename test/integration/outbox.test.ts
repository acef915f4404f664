import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHarnesses, startHarness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

const presence = (status: string) => ({ op: 3, d: { status, since: null, activities: [], afk: false } });
const presencesReceived = (h: Awaited<ReturnType<typeof startHarness>>) =>
  h.server.received.filter((f) => f.op === 3).map((f) => (f.d as { status: string }).status);

describe('outgoing payloads across reconnects, on real sockets', () => {
  it('a payload sent while resuming goes out after RESUMED, on the new socket', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.stallHello(1);
    const mark = h.states.length;
    h.server.kill();
    await h.waitForState((s) => s.phase === 'handshake.awaitingHello', 'the resume waiting for HELLO', mark);
    const queued = h.gateway.send(presence('dnd'));
    await queued;
    await h.waitFor(() => presencesReceived(h).length === 1, 'the presence update at the server');
    expect(presencesReceived(h)).toEqual(['dnd']);
    expect(h.gateway.actor.getSnapshot().context.lastHandshake).toBe('resume');
  });

  it('a fresh session rejects what was queued for the old one, with a reason', async () => {
    const h = await startHarness({
      gateway: { timeouts: { drain: 150, terminateGrace: 40, connect: 500, hello: 200, ready: 200, stable: 10_000 } },
    });
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    const mark = h.states.length;
    const resume = h.gateway.reconnect();
    await h.waitForState((s) => s.phase === 'draining', 'the resume draining', mark);
    const queued = h.gateway.send(presence('idle'));
    const fresh = h.gateway.reconnect({ fresh: true });
    await expect(queued).rejects.toMatchObject({ code: 'SESSION_RESET' });
    await Promise.all([resume, fresh]);
    expect(presencesReceived(h)).toEqual([]);
    expect(h.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/fresh session replaced/));
  });

  it('stop rejects what is still queued', async () => {
    const h = await startHarness();
    h.server.stallHello(1);
    void h.gateway.start().catch(() => {});
    const queued = h.gateway.send(presence('online'));
    await h.gateway.stop();
    await expect(queued).rejects.toMatchObject({ code: 'STOPPED' });
    await expect(h.gateway.send(presence('idle'))).rejects.toMatchObject({ code: 'STOPPED' });
  });

  it('keeps to the send budget of a connection and sends the rest when the window moves on', async () => {
    const h = await startHarness({ gateway: { outbox: { sendsPerWindow: 6, reservedSends: 2, windowMs: 150 } } });
    await h.gateway.start();
    const startedAt = performance.now();
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((status) => h.gateway.send(presence(status))));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(140);
    await h.waitFor(() => presencesReceived(h).length === 6, 'all six at the server');
    expect(presencesReceived(h)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});
