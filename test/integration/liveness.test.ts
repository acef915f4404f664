import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createGateway, discordProtocol, GatewayError, type GatewayStateChange } from '../../src/index.ts';
import { closeAllHarnesses, shortTimeouts, SocketTracker, startHarness, token, type Harness } from '../support/realGateway.ts';
import { testConnectUrl } from '../support/compression.ts';

/**
 * A gateway never sits stuck or silent: a dead resume host sends it back to the main URL, a resume
 * URL that cannot even make a socket too, and every failed attempt is an `error` event with its
 * real cause, the attempt number and the wait before the next one.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await closeAllHarnesses();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A loopback port with nothing listening: connecting to it is refused at once. */
async function refusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** A TCP server that accepts connections and never answers: a WebSocket to it never opens. */
async function silentPort(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

const gatewayErrors = (h: Harness) => h.errors.filter((error): error is GatewayError => error instanceof GatewayError);
const urlsAfter = (h: Harness, from: number) => h.tracker.sockets.slice(from).map(({ url }) => new URL(url).port);

describe('a dead resume host', () => {
  it('two refused resumes on the resume URL, then RESUME on the main URL', async () => {
    const dead = await refusedPort();
    const h = await startHarness({ server: { resumeUrl: `ws://127.0.0.1:${dead}` } });
    await h.gateway.start();
    const main = new URL(h.server.url).port;
    const mark = h.states.length;
    const from = h.tracker.sockets.length;
    h.server.kill();
    const ready = await h.waitForState((s) => s.state === 'ready', 'ready again', mark);
    expect(ready.handshake).toBe('resume');
    expect(urlsAfter(h, from)).toEqual([String(dead), String(dead), main]);
    expect(h.handshakes()).toEqual(['IDENTIFY', 'RESUME']);
    const failed = gatewayErrors(h).filter((error) => error.code === 'CONNECT_FAILED');
    expect(failed).toHaveLength(2);
    expect(failed[0]!.cause).toMatchObject({ code: 'ECONNREFUSED' });
    // The resume URL that stopped working is not tried again by this session.
    const again = h.tracker.sockets.length;
    const mark2 = h.states.length;
    h.server.kill();
    await h.waitForState((s) => s.state === 'ready', 'ready after the second drop', mark2);
    expect(urlsAfter(h, again)).toEqual([main]);
  });

  it('a resume host that accepts TCP and never answers: two connect timeouts, then the main URL', async () => {
    const silent = await silentPort();
    const h = await startHarness({
      server: { resumeUrl: `ws://127.0.0.1:${silent}` },
      gateway: { timeouts: { ...shortTimeouts, connect: 60 } },
    });
    await h.gateway.start();
    const mark = h.states.length;
    const from = h.tracker.sockets.length;
    h.server.kill();
    const ready = await h.waitForState((s) => s.state === 'ready', 'ready again', mark);
    expect(ready.handshake).toBe('resume');
    expect(urlsAfter(h, from)).toEqual([String(silent), String(silent), new URL(h.server.url).port]);
    expect(gatewayErrors(h).filter((error) => error.code === 'CONNECT_TIMEOUT')).toHaveLength(2);
  });

  it('when the resume on the main URL fails too, a fresh IDENTIFY on the main URL', async () => {
    const dead = await refusedPort();
    const h = await startHarness({ server: { resumeUrl: `ws://127.0.0.1:${dead}` } });
    await h.gateway.start();
    const main = new URL(h.server.url).port;
    const mark = h.states.length;
    const from = h.tracker.sockets.length;
    h.server.stallHello(1); // the next connection to the main URL (the fallback resume) gets no HELLO
    h.server.kill();
    const ready = await h.waitForState((s) => s.state === 'ready', 'ready again', mark);
    expect(ready.handshake).toBe('identify');
    expect(urlsAfter(h, from)).toEqual([String(dead), String(dead), main, main]);
    expect(h.handshakes()).toEqual(['IDENTIFY', 'IDENTIFY']);
    expect(h.reconnectKinds().slice(-4)).toEqual(['resume', 'resume', 'resume', 'fresh']);
  });
});

describe('a resume URL that cannot make a socket', () => {
  it('a #fragment in resume_gateway_url is ignored with a warning; op 7 resumes on the main URL', async () => {
    const h = await startHarness({ server: { resumeUrl: 'ws://127.0.0.1:1/#fragment' } });
    await h.gateway.start();
    expect(gatewayErrors(h).map((error) => error.code)).toContain('RESUME_URL_REJECTED');
    const mark = h.states.length;
    h.server.requestReconnect();
    const ready = await h.waitForState((s) => s.state === 'ready', 'ready again', mark);
    expect(ready.handshake).toBe('resume');
    expect(h.tracker.sockets.at(-1)!.url).toBe(testConnectUrl(h.server.url));
    expect(h.gateway.status).toBe('ready');
  });

  it('createSocket throwing for the resume URL falls back to the main URL instead of failing', async () => {
    const probe = await startHarness();
    const port = probe.server.port;
    await probe.close();
    const tracker = new SocketTracker();
    cleanups.push(() => tracker.destroyAll());
    const h = await startHarness({
      server: { port, resumeUrl: `ws://localhost:${port}` },
      gateway: {
        allowedResumeHosts: ['localhost'],
        createSocket: (url) => {
          if (url.includes('localhost')) throw new SyntaxError('cannot make a socket for this URL');
          return tracker.createSocket(url);
        },
      },
    });
    await h.gateway.start();
    const mark = h.states.length;
    h.server.kill();
    const ready = await h.waitForState((s) => s.state === 'ready', 'ready again', mark);
    expect(ready.handshake).toBe('resume');
    expect(tracker.sockets.map(({ url }) => url)).toEqual([testConnectUrl(h.server.url), testConnectUrl(h.server.url)]);
    expect(h.handshakes()).toEqual(['IDENTIFY', 'RESUME']);
  });
});

describe('a start that can never succeed is not silent', () => {
  it('DNS failure: each attempt is an error with its OS code, the attempt number and the wait; AbortSignal.timeout bounds start()', async () => {
    const errors: GatewayError[] = [];
    const gateway = createGateway({
      url: 'ws://nonexistent.invalid:1/?v=10&encoding=json',
      protocol: discordProtocol({ token, intents: 1 }),
      backoff: { baseMs: 10, maxMs: 20 },
      signal: AbortSignal.timeout(400),
    });
    gateway.on('error', (error) => errors.push(error as GatewayError));
    await expect(gateway.start()).rejects.toMatchObject({ code: 'STOPPED' });
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const [index, error] of errors.entries()) {
      expect(error).toBeInstanceOf(GatewayError);
      expect(error.code).toBe('CONNECT_FAILED');
      expect((error.cause as { code?: string }).code).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
      expect(error.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
      expect(error.attempt).toBe(index + 2);
      expect(error.retryInMs).toBeGreaterThanOrEqual(0);
      expect(error.retryInMs).toBeLessThanOrEqual(20);
    }
  });

  it('a server that closes with 4002 before HELLO: each attempt is an error with the close code and reason', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (socket) => socket.close(4002, 'Error while decoding payload.'));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const errors: GatewayError[] = [];
    const states: GatewayStateChange[] = [];
    const gateway = createGateway({
      url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/?v=10&encoding=json`,
      protocol: discordProtocol({ token, intents: 1 }),
      backoff: { baseMs: 10, maxMs: 20 },
      signal: AbortSignal.timeout(300),
    });
    gateway.on('error', (error) => errors.push(error as GatewayError));
    gateway.on('state', (state) => states.push(state));
    await expect(gateway.start()).rejects.toMatchObject({ code: 'STOPPED' });
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'SOCKET_CLOSED', closeCode: 4002, closeReason: 'Error while decoding payload.' });
      expect(error.message).toContain('4002');
      expect(typeof error.retryInMs).toBe('number');
    }
    expect(states.some((state) => state.code === 'SOCKET_CLOSED')).toBe(true);
  });
});
