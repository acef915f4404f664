import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHarnesses, startHarness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

describe('a session handed from one gateway to the next, on real sockets', () => {
  it('stop({ keepSession: true }) then a new gateway given session() RESUMEs: no IDENTIFY, every event once', async () => {
    const first = await startHarness();
    await first.gateway.start();
    for (let i = 0; i < 3; i++) first.server.dispatch();
    await first.waitFor(() => first.dispatches.length === 3, 'three dispatches');

    await first.gateway.stop({ keepSession: true });
    const session = first.gateway.session();
    expect(session).toEqual({ sessionId: expect.any(String), sequence: expect.any(Number), resumeUrl: expect.anything() });
    // Closed with 4000, the server kept the session: events sent while no one is connected wait in it.
    expect(first.server.sessionCount()).toBe(1);
    for (let i = 0; i < 4; i++) first.server.dispatch();

    // A new gateway (as after a restart) against the same server, where the session lives.
    const next = await startHarness({ gateway: { session, url: first.server.url } });
    await next.gateway.start();
    expect(next.reconnectKinds()).toEqual(['resume']);
    expect(first.server.counters.identifies).toBe(1);
    expect(first.server.counters.resumes).toBe(1);
    await next.waitFor(() => next.dispatches.length === 4, 'the four events sent in between');
    const seen = [...first.dispatches, ...next.dispatches].map((payload) => payload.s);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    await next.gateway.stop();
  });

  it('a plain stop gives the session up: session() is null and the server forgot it', async () => {
    const h = await startHarness();
    await h.gateway.start();
    await h.gateway.stop();
    expect(h.gateway.session()).toBeNull();
    await h.waitFor(() => h.server.sessionCount() === 0, 'the server to forget the session');
  });

  it('a stale session handed in falls back to IDENTIFY', async () => {
    const h = await startHarness({ gateway: { session: { sessionId: 'expired-long-ago', sequence: 9, resumeUrl: null } } });
    await h.gateway.start();
    expect(h.reconnectKinds()).toEqual(['resume', 'fresh']);
    expect(h.handshakes()).toEqual(['RESUME', 'IDENTIFY']);
    expect(h.gateway.session()?.sessionId).not.toBe('expired-long-ago');
  });

  it('beforeIdentify holds each IDENTIFY until its turn; RESUMEs never ask', async () => {
    const turns: number[] = [];
    let release: () => void = () => {};
    const h = await startHarness({
      gateway: {
        beforeIdentify: () =>
          new Promise<void>((resolve) => {
            turns.push(Date.now());
            release = resolve;
          }),
      },
    });
    const ready = h.gateway.start();
    await h.waitFor(() => turns.length === 1, 'the first turn to be asked for');
    expect(h.handshakes()).toEqual([]);
    release();
    await ready;
    expect(h.handshakes()).toEqual(['IDENTIFY']);

    h.server.kill();
    await h.waitForState((s) => s.state === 'ready' && s.handshake === 'resume', 'RESUMED', h.states.length);
    expect(turns).toHaveLength(1);
  });
});
