import { afterEach, describe, expect, it } from 'vitest';
import { discordProtocol } from '../../src/index.ts';
import { closeAllHarnesses, startHarness, token } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

describe('failures inside the engine, on real sockets', () => {
  it('a protocol binding that throws is reported and does not crash the socket actor', async () => {
    const protocol = discordProtocol({ token, intents: 1 });
    let throwOnHeartbeat = false;
    const h = await startHarness({
      server: { heartbeatInterval: 30 },
      gateway: {
        protocol: {
          ...protocol,
          heartbeat: (seq) => {
            if (throwOnHeartbeat) throw new Error('binding bug');
            return protocol.heartbeat(seq);
          },
        },
      },
    });
    await h.gateway.start();
    throwOnHeartbeat = true;
    await h.waitFor(() => h.errors.some((e) => e.message === 'binding bug'), 'the binding error');
    // No heartbeat goes out, so the connection is a zombie and the engine recovers; it does not end.
    throwOnHeartbeat = false;
    await h.waitForState((s) => s.state === 'ready' && s.handshake === 'resume', 'ready again after the zombie');
    expect(h.gateway.status).toBe('ready');
  });

  it('a socket that cannot be created ends the gateway in failed with its message, and nothing stays open', async () => {
    let calls = 0;
    const h = await startHarness();
    await h.close();
    const h2 = await startHarness({
      gateway: {
        createSocket: (url) => {
          calls += 1;
          if (calls > 1) throw new Error('EMFILE: too many open files');
          return h2ref.tracker.createSocket(url);
        },
      },
    });
    const h2ref = h2;
    await h2.gateway.start();
    await expect(h2.gateway.reconnect()).rejects.toThrow(/EMFILE/);
    expect(h2.gateway.status).toBe('failed');
    expect(h2.tracker.live).toBe(0);
    // The resume URL here is the main URL: a socket that cannot be created for it ends the gateway.
    expect(h2.gateway.actor.getSnapshot().output).toMatchObject({
      status: 'failed',
      failure: { trigger: { type: 'connectFailed', stage: 'create' } },
    });
  });

  it('reconnect() called from a ready listener waits for the next ready, not the one it was called from', async () => {
    const h = await startHarness();
    let reconnect: Promise<void> | undefined;
    h.gateway.on('state', (change) => {
      if (change.state === 'ready' && !reconnect) reconnect = h.gateway.reconnect();
    });
    await h.gateway.start();
    await reconnect;
    expect(h.handshakes()).toEqual(['IDENTIFY', 'RESUME']);
  });
});
