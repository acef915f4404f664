import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHarnesses, sleep, startHarness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

describe('event delivery across reconnects', () => {
  it('delivers every sequence exactly once, in order, while the server kills the socket repeatedly', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.resetCounters();
    h.server.replayOverlap(5);
    h.server.startStream(3_000);
    for (let kill = 0; kill < 10; kill += 1) {
      await sleep(25);
      const mark = h.states.length;
      h.server.kill();
      await h.waitForState((s) => s.state === 'ready', `ready after kill ${kill + 1}`, mark);
    }
    await sleep(25);
    h.server.stopStream();
    const sent = h.server.counters.dispatched;
    await h.waitFor(() => h.dispatches.length >= sent, `${sent} dispatches`);
    await sleep(20);

    const seqs = h.dispatches.map((d) => d.s);
    expect(sent).toBeGreaterThan(100);
    expect(h.dispatches).toHaveLength(sent);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
    // Each payload is the server's own event: its body names the sequence it was sent with.
    expect(h.dispatches.every((d) => (d.d as unknown as { seq: number }).seq === d.s)).toBe(true);
    expect(h.handshakes()).toEqual(Array(10).fill('RESUME'));
    expect(h.tracker.maxLive).toBe(1);
  });

  it('sends user payloads on the ready socket; a payload sent before READY waits for it', async () => {
    const h = await startHarness();
    const early = h.gateway.send({ op: 3, d: { status: 'online', since: null, activities: [], afk: false } });
    await h.gateway.start();
    await early;
    await h.gateway.send({ op: 3, d: { status: 'idle', since: null, activities: [], afk: false } });
    await h.waitFor(() => h.server.received.filter((f) => f.op === 3).length === 2, 'both presence updates');
    expect(h.server.received.filter((f) => f.op === 3).map((f) => (f.d as { status: string }).status)).toEqual(['online', 'idle']);
  });

  it('keeps delivering when a dispatch listener throws, and reports the throw as an error', async () => {
    const h = await startHarness();
    h.gateway.on('dispatch', () => {
      throw new Error('listener bug');
    });
    await h.gateway.start();
    h.server.dispatch();
    h.server.dispatch();
    await h.waitFor(() => h.dispatches.length === 2, 'two dispatches');
    // READY reached the listener too
    expect(h.errors.filter((e) => /listener bug/.test(e.message))).toHaveLength(3);
    expect(h.gateway.status).toBe('ready');
  });
});
