import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHarnesses, shortTimeouts, startHarness, type Harness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

const bound = shortTimeouts.drain + shortTimeouts.terminateGrace;
/** Scheduling slack for a loaded machine; the bound itself is drain + grace. */
const slack = 250;

async function expectQuickStop(h: Harness) {
  const startedAt = performance.now();
  const output = await h.gateway.stop();
  const elapsed = performance.now() - startedAt;
  expect(elapsed).toBeLessThan(bound + slack);
  expect(h.gateway.actor.getSnapshot().status).toBe('done');
  expect(h.tracker.live).toBe(0);
  return output;
}

async function reach(h: Harness, phase: string, act: () => void) {
  const mark = h.states.length;
  act();
  await h.waitForState((s) => s.phase === phase, phase, mark);
}

describe('stop from every state resolves within drain + terminateGrace', () => {
  it('from idle', async () => {
    const h = await startHarness();
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
    expect(h.tracker.sockets).toHaveLength(0);
  });

  it('from ready', async () => {
    const h = await startHarness();
    await h.gateway.start();
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
  });

  it('from ready, when the server never answers the close', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
  });

  it('from draining', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    await reach(h, 'draining', () => void h.gateway.reconnect().catch(() => {}));
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
  });

  it('from waiting (backing off)', async () => {
    const h = await startHarness({ gateway: { backoff: { invalidSessionMinMs: 5_000, invalidSessionMaxMs: 5_000 } } });
    await h.gateway.start();
    await reach(h, 'waiting', () => h.server.invalidateSession(true));
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
  });

  it('from opening (the server accepts TCP and never upgrades)', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const h = await startHarness({ gateway: { url: `ws://127.0.0.1:${port}/?v=10&encoding=json` } });
      void h.gateway.start().catch(() => {});
      await h.waitForState((s) => s.phase === 'handshake.opening', 'opening');
      expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('from awaitingHello', async () => {
    const h = await startHarness();
    h.server.stallHello(1);
    void h.gateway.start().catch(() => {});
    await h.waitForState((s) => s.phase === 'handshake.awaitingHello', 'awaitingHello');
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
  });

  it('from identifying', async () => {
    const h = await startHarness();
    h.server.stallReady(1);
    void h.gateway.start().catch(() => {});
    await h.waitForState((s) => s.phase === 'handshake.identifying', 'identifying');
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
  });

  it('from resuming', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.stallReady(1);
    await reach(h, 'handshake.resuming', () => h.server.kill());
    expect(await expectQuickStop(h)).toEqual({ status: 'stopped' });
  });

  it('from closing: a second stop joins the first', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.neverCloseHandshake(true);
    const first = h.gateway.stop();
    expect(h.gateway.status).toBe('closing');
    const output = await expectQuickStop(h);
    expect(await first).toEqual(output);
  });

  it('from failed: stop resolves with the failure and does nothing else', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.closeWith(4004);
    await h.waitForState((s) => s.state === 'failed', 'failed');
    const output = await expectQuickStop(h);
    expect(output).toMatchObject({ status: 'failed', failure: { message: expect.stringContaining('4004') } });
  });

  it('a start() left pending by a stop rejects without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const h = await startHarness();
      h.server.stallHello(1);
      void h.gateway.start(); // deliberately not awaited
      await h.gateway.stop();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
