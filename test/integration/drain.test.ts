import { connectionOf } from '../../src/connection/connection.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHarnesses, shortTimeouts, sleep, startHarness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

const { drain, terminateGrace } = shortTimeouts;

describe('draining the old socket, on real sockets', () => {
  it('terminates a socket that never completes its close handshake, then reconnects', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    h.server.resetCounters();
    const startedAt = performance.now();
    await h.gateway.reconnect();
    const elapsed = performance.now() - startedAt;

    expect(h.handshakes()).toEqual(['RESUME']);
    expect(h.tracker.sockets).toHaveLength(2);
    expect(h.tracker.maxLive).toBe(1);
    // The close handshake could not finish, so the drain waited for its timeout and terminated.
    expect(elapsed).toBeGreaterThanOrEqual(drain - 5);
    expect(h.errors).toEqual([]);
  });

  it('fails closed when terminate() never produces close: no second socket is opened', async () => {
    const h = await startHarness();
    await h.gateway.start();
    const opened = h.tracker.sockets.length;
    h.tracker.deaf = true; // only affects sockets created from now on
    await h.gateway.reconnect({ fresh: true });
    expect(h.tracker.sockets).toHaveLength(opened + 1);

    const reconnect = h.gateway.reconnect();
    await expect(reconnect).rejects.toThrow(/did not close even after terminate/);
    expect(h.gateway.status).toBe('failed');
    expect(h.tracker.sockets).toHaveLength(opened + 1);
    expect(h.tracker.maxLive).toBe(1);
    const output = h.gateway.actor.getSnapshot().output;
    expect(output).toMatchObject({ status: 'failed', failure: { trigger: { type: 'drainFailed' } } });
    expect(h.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/did not close even after terminate/));
    await sleep(30);
    expect(h.tracker.sockets).toHaveLength(opened + 1);
  });

  it('stop during a drain reconnects nothing, resolves, and reports no error', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    const mark = h.states.length;
    const reconnect = h.gateway.reconnect();
    await h.waitForState((s) => s.phase === 'draining', 'draining', mark);
    const output = await h.gateway.stop();

    expect(output).toEqual({ status: 'stopped' });
    await expect(reconnect).rejects.toThrow(/stopped/);
    await sleep(30);
    expect(h.tracker.sockets).toHaveLength(1);
    expect(h.errors).toEqual([]);
    expect(connectionOf(h.gateway.actor.getSnapshot().context.connection).line.sealed).toBe(true);
  });

  it('stop during a drain of a socket that never closes resolves quietly within drain + grace', async () => {
    const h = await startHarness();
    h.tracker.deaf = true;
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    const mark = h.states.length;
    void h.gateway.reconnect().catch(() => {});
    await h.waitForState((s) => s.phase === 'draining', 'draining', mark);
    const startedAt = performance.now();
    const output = await h.gateway.stop();
    const elapsed = performance.now() - startedAt;

    expect(output).toEqual({ status: 'stopped' });
    expect(elapsed).toBeLessThan(drain + terminateGrace + 250);
    expect(h.errors).toEqual([]);
    expect(h.tracker.sockets).toHaveLength(1);
  });

  it('an abort signal during a drain stops the gateway and nothing connects afterwards', async () => {
    const controller = new AbortController();
    const h = await startHarness({ gateway: { signal: controller.signal } });
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    const mark = h.states.length;
    void h.gateway.reconnect().catch(() => {});
    await h.waitForState((s) => s.phase === 'draining', 'draining', mark);
    controller.abort();
    await h.waitForState((s) => s.state === 'stopped', 'stopped', mark);
    await sleep(drain + terminateGrace + 50);

    expect(h.tracker.sockets).toHaveLength(1);
    expect(h.server.counters.connections).toBe(1);
    expect(h.gateway.actor.getSnapshot().status).toBe('done');
    expect(h.errors).toEqual([]);
  });

  it('an already aborted signal leaves the gateway stopped before it connects', async () => {
    const controller = new AbortController();
    controller.abort();
    const h = await startHarness({ gateway: { signal: controller.signal } });
    await expect(h.gateway.start()).rejects.toThrow(/stopped/);
    expect(h.tracker.sockets).toHaveLength(0);
  });
});
