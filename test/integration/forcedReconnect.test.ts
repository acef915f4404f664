import { connectionOf } from '../../src/connection/connection.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHarnesses, sleep, startHarness, type Harness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

describe('forced reconnects on real sockets', () => {
  it('a forced fresh reconnect opens one new socket, sends IDENTIFY, and ignores the stale socket', async () => {
    const h = await startHarness();
    await h.gateway.start();
    const before = h.gateway.actor.getSnapshot().context;
    const oldSession = before.session?.sessionId;
    expect(oldSession).toBeTruthy();
    h.server.dispatch();
    await h.waitFor(() => h.dispatches.length === 1, 'one dispatch');
    const staleSocket = h.tracker.last();

    h.server.resetCounters();
    await h.gateway.reconnect({ fresh: true });

    expect(h.handshakes()).toEqual(['IDENTIFY']);
    expect(h.server.counters.connections).toBe(1);
    expect(h.tracker.sockets).toHaveLength(2);
    expect(h.tracker.maxLive).toBe(1);
    const after = h.gateway.actor.getSnapshot().context;
    expect(after.session?.sessionId).toBeTruthy();
    expect(after.session?.sessionId).not.toBe(oldSession);
    expect(after.lastHandshake).toBe('identify');

    // The stale socket's late events reach no listener that could drive a transition.
    const generation = after.generation;
    const stateCount = h.states.length;
    staleSocket.emit('close', 1006, Buffer.from(''));
    staleSocket.emit('error', new Error('late error from the stale socket'));
    await sleep(30);
    expect(h.gateway.status).toBe('ready');
    expect(h.gateway.actor.getSnapshot().context.generation).toBe(generation);
    expect(h.states.length).toBe(stateCount);
    expect(h.tracker.sockets).toHaveLength(2);
    expect(h.server.counters.resumes).toBe(0);
  });

  it('clears session id, sequence and resume URL before the fresh socket connects', async () => {
    const seenAtConnect: { session: unknown; seq: number | null }[] = [];
    let harness: Harness | undefined;
    const h = await startHarness({
      gateway: {
        createSocket: (url) => {
          if (!harness) throw new Error('harness not ready');
          const { session, connection } = harness.gateway.actor.getSnapshot().context;
          const { ledger } = connectionOf(connection);
          seenAtConnect.push({ session, seq: ledger.seq });
          return harness.tracker.createSocket(url);
        },
      },
    });
    harness = h;
    await h.gateway.start();
    h.server.dispatch();
    h.server.dispatch();
    await h.waitFor(() => h.dispatches.length === 2, 'two dispatches');
    expect(connectionOf(h.gateway.actor.getSnapshot().context.connection).ledger.seq).toBeGreaterThan(1);
    expect(h.gateway.actor.getSnapshot().context.session?.resumeUrl).toBeTruthy();
    await h.gateway.reconnect({ fresh: true });
    expect(seenAtConnect).toHaveLength(2);
    expect(seenAtConnect[0]).toEqual({ session: null, seq: null });
    expect(seenAtConnect[1]).toEqual({ session: null, seq: null });
  });

  it('a fresh request upgrades a resume in flight: one socket at a time, IDENTIFY and no RESUME', async () => {
    const h = await startHarness({
      gateway: { timeouts: { drain: 150, terminateGrace: 40, connect: 500, hello: 200, ready: 200, stable: 10_000 } },
    });
    await h.gateway.start();
    h.server.resetCounters();
    h.server.neverCloseHandshake(true);
    const mark = h.states.length;
    const resume = h.gateway.reconnect();
    await h.waitForState((s) => s.kind === 'resume' && s.phase === 'draining', 'the resume draining', mark);
    const fresh = h.gateway.reconnect({ fresh: true });
    await Promise.all([resume, fresh]);

    expect(h.handshakes()).toEqual(['IDENTIFY']);
    expect(h.reconnectKinds().slice(-2)).toEqual(['resume', 'fresh']);
    expect(h.tracker.maxLive).toBe(1);
    expect(h.gateway.actor.getSnapshot().context.lastHandshake).toBe('identify');
  });

  it('a resume request while a fresh reconnect runs joins it instead of starting another', async () => {
    const h = await startHarness();
    await h.gateway.start();
    h.server.resetCounters();
    const fresh = h.gateway.reconnect({ fresh: true });
    const resume = h.gateway.reconnect();
    await Promise.all([fresh, resume]);
    expect(h.handshakes()).toEqual(['IDENTIFY']);
    expect(h.server.counters.connections).toBe(1);
  });
});
