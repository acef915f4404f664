import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RecoveryPlan } from '../../src/index.ts';
import { closeAllHarnesses, startHarness, testConnectUrl, type Harness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

/** Collects the recovery plans the statechart announces. */
function plansOf(h: Harness): RecoveryPlan[] {
  const plans: RecoveryPlan[] = [];
  h.gateway.actor.on('recovery', ({ plan }) => plans.push(plan));
  return plans;
}

async function readyHarness(options?: Parameters<typeof startHarness>[0]) {
  const h = await startHarness(options);
  await h.gateway.start();
  h.server.resetCounters();
  return h;
}

/** Waits until the gateway is ready again after the fault that `act` causes. */
async function recoverFrom(h: Harness, act: () => void) {
  const mark = h.states.length;
  act();
  await h.waitForState((s) => s.state === 'connecting', 'a reconnect to begin', mark);
  return h.waitForState((s) => s.state === 'ready', 'ready again', mark);
}

describe('the recovery table, on real sockets', () => {
  it.each([1000, 1001, 4000, 4001, 4002, 4005, 4008])('server close %i resumes the session', async (code) => {
    const h = await readyHarness();
    const plans = plansOf(h);
    const ready = await recoverFrom(h, () => h.server.closeWith(code));
    expect(ready.handshake).toBe('resume');
    expect(h.handshakes()).toEqual(['RESUME']);
    expect(plans[0]).toMatchObject({ action: 'resume', delay: code === 4008 ? 'rateLimited' : 'backoff' });
  });

  it('a network drop (1006) resumes the session', async () => {
    const h = await readyHarness();
    const ready = await recoverFrom(h, () => h.server.kill());
    expect(ready.handshake).toBe('resume');
    expect(h.handshakes()).toEqual(['RESUME']);
  });

  it.each([4003, 4007, 4009])('server close %i starts a fresh session', async (code) => {
    const h = await readyHarness();
    const ready = await recoverFrom(h, () => h.server.closeWith(code));
    expect(ready.handshake).toBe('identify');
    expect(h.handshakes()).toEqual(['IDENTIFY']);
  });

  it.each([4004, 4010, 4011, 4012, 4013, 4014])('server close %i is fatal: failed, no retry', async (code) => {
    const h = await readyHarness();
    const sockets = h.tracker.sockets.length;
    h.server.closeWith(code);
    await h.waitForState((s) => s.state === 'failed', 'failed');
    const output = h.gateway.actor.getSnapshot().output;
    expect(output).toMatchObject({ status: 'failed', failure: { trigger: { type: 'close', code } } });
    expect(output?.status === 'failed' && output.failure.message).toContain(String(code));
    expect(h.tracker.sockets).toHaveLength(sockets);
    expect(h.server.counters.connections).toBe(0);
    await expect(h.gateway.reconnect()).rejects.toThrow(String(code));
  });

  it('op 7 RECONNECT resumes with no delay', async () => {
    const h = await readyHarness();
    const plans = plansOf(h);
    const ready = await recoverFrom(h, () => h.server.requestReconnect());
    expect(ready.handshake).toBe('resume');
    expect(plans).toEqual([expect.objectContaining({ action: 'resume', delay: 'none' })]);
    expect(h.errors).toEqual([]);
  });

  it('op 9 INVALID_SESSION d=true resumes after the invalid-session delay', async () => {
    const h = await readyHarness();
    const plans = plansOf(h);
    const startedAt = performance.now();
    const ready = await recoverFrom(h, () => h.server.invalidateSession(true));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(20 - 2);
    expect(ready.handshake).toBe('resume');
    expect(plans[0]).toMatchObject({ action: 'resume', delay: 'invalidSession' });
  });

  it('op 9 INVALID_SESSION d=false starts fresh after the invalid-session delay', async () => {
    const h = await readyHarness();
    const plans = plansOf(h);
    const startedAt = performance.now();
    const ready = await recoverFrom(h, () => h.server.invalidateSession(false));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(20 - 2);
    expect(ready.handshake).toBe('identify');
    expect(h.handshakes()).toEqual(['IDENTIFY']);
    expect(plans[0]).toMatchObject({ action: 'fresh', delay: 'invalidSession' });
  });

  it('HELLO stalls: resume, resume, then the third stall in a row goes fresh', async () => {
    const h = await readyHarness();
    h.server.stallHello(3);
    const mark = h.states.length;
    h.server.kill();
    const ready = await h.waitForState((s) => s.state === 'ready', 'ready after the stalls', mark);
    expect(h.reconnectKinds().slice(1)).toEqual(['resume', 'resume', 'resume', 'fresh']);
    expect(ready.handshake).toBe('identify');
    expect(h.handshakes()).toEqual(['IDENTIFY']);
    expect(h.errors.filter((e) => /HELLO/.test(e.message))).toHaveLength(3);
    expect(h.gateway.actor.getSnapshot().context.helloStalls).toBe(0);
  });

  it('no READY after IDENTIFY goes fresh; a second timeout in a row fails with a clear error', async () => {
    const h = await startHarness();
    h.server.stallReady(1);
    await h.gateway.start();
    expect(h.reconnectKinds()).toEqual(['fresh', 'fresh']);
    expect(h.handshakes()).toEqual(['IDENTIFY', 'IDENTIFY']);

    const h2 = await startHarness();
    h2.server.stallReady(2);
    await expect(h2.gateway.start()).rejects.toThrow(/no READY after 2 handshakes in a row/);
    expect(h2.gateway.status).toBe('failed');
    expect(h2.tracker.live).toBe(0);
  });

  it('no RESUMED after RESUME goes fresh', async () => {
    const h = await readyHarness();
    h.server.stallReady(1);
    const ready = await recoverFrom(h, () => h.server.kill());
    expect(h.handshakes()).toEqual(['RESUME', 'IDENTIFY']);
    expect(ready.handshake).toBe('identify');
  });

  it('an unacknowledged heartbeat terminates the zombie at once and resumes', async () => {
    const h = await readyHarness({ server: { heartbeatInterval: 30 } });
    const plans = plansOf(h);
    const zombie = h.tracker.last();
    const close = vi.spyOn(zombie, 'close');
    const terminate = vi.spyOn(zombie, 'terminate');
    h.server.dropAcks(true);
    h.server.neverCloseHandshake(true);
    const mark = h.states.length;
    await h.waitForState((s) => s.state === 'connecting', 'the zombie to be noticed', mark);
    h.server.dropAcks(false);
    h.server.neverCloseHandshake(false);
    const ready = await h.waitForState((s) => s.state === 'ready', 'ready again', mark);

    expect(plans[0]).toMatchObject({ action: 'resume', drain: 'terminate', trigger: { type: 'zombie' } });
    expect(terminate).toHaveBeenCalled();
    expect(close).not.toHaveBeenCalled();
    expect(ready.handshake).toBe('resume');
    expect(h.tracker.maxLive).toBe(1);
  });

  it('answers a server heartbeat request at once with the last sequence', async () => {
    const h = await readyHarness();
    h.server.dispatch();
    await h.waitFor(() => h.dispatches.length === 1, 'a dispatch');
    h.server.requestHeartbeat();
    await h.waitFor(() => h.server.received.some((f) => f.op === 1), 'a heartbeat');
    const beat = h.server.received.find((f) => f.op === 1);
    expect(beat?.d).toBe(h.dispatches[0]?.s);
  });

  it.each([
    ['invalid JSON', 'not json {', false],
    ['a binary frame', Buffer.from([1, 2, 3]), true],
    ['an unknown opcode', JSON.stringify({ op: 42, d: null }), false],
    ['HELLO with a negative interval', JSON.stringify({ op: 10, d: { heartbeat_interval: -1 } }), false],
  ] as const)('%s produces an error event and a resume, not a crash', async (_name, data, binary) => {
    const h = await readyHarness();
    // On a compressed stream the frame goes through the stream, so the message itself is what is bad.
    const ready = await recoverFrom(h, () => h.server.sendRaw(data, { binary, compressed: true }));
    expect(ready.handshake).toBe('resume');
    expect(h.errors.some((e) => e.name === 'GatewayProtocolError')).toBe(true);
  });
});

describe('resume URLs', () => {
  it('resumes on the READY resume URL when its host is allowed, keeping the query', async () => {
    const probe = await startHarness();
    const port = probe.server.port;
    await probe.close();
    const h = await readyHarness({
      server: { port, resumeUrl: `ws://localhost:${port}` },
      gateway: { allowedResumeHosts: ['localhost'] },
    });
    await recoverFrom(h, () => h.server.kill());
    expect(h.tracker.sockets.at(-1)?.url).toBe(testConnectUrl(`ws://localhost:${port}/?v=10&encoding=json`));
  });

  it.each([
    ['a host that is not allowed', (port: number) => `ws://localhost:${port}`],
    ['a scheme that is not ws(s)', (port: number) => `http://127.0.0.1:${port}`],
    ['something that is not a URL', () => 'not a url'],
  ])('ignores a resume URL with %s and resumes on the main URL', async (_name, resumeUrl) => {
    const probe = await startHarness();
    const port = probe.server.port;
    await probe.close();
    const h = await readyHarness({ server: { port, resumeUrl: resumeUrl(port) } });
    expect(h.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/resume_gateway_url/));
    await recoverFrom(h, () => h.server.kill());
    expect(h.tracker.sockets.map((s) => s.url)).toEqual([testConnectUrl(h.server.url), testConnectUrl(h.server.url)]);
    expect(h.handshakes()).toEqual(['RESUME']);
  });
});
