import { GatewayOpcodes } from 'discord-api-types/v10';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import { createGateway, GatewayError, type GatewayOptions, type GatewayStateChange } from '../../src/api/createGateway.ts';
import { serverFrames } from '../support/discordFrames.ts';
import { FakeSocketFactory } from '../support/fakeSocket.ts';
import { ManualClock } from '../support/manualClock.ts';

const MAIN_URL = 'wss://gateway.discord.gg/?v=10&encoding=json';
const TOKEN = 'create-gateway-test-token';

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** createGateway over fake sockets and a manual clock; stopped when the test ends. */
function fakeGateway(options: Partial<GatewayOptions> = {}) {
  const clock = new ManualClock();
  const sockets = new FakeSocketFactory();
  const gateway = createGateway({
    url: MAIN_URL,
    protocol: discordProtocol({ token: TOKEN, intents: 1 }),
    createSocket: sockets.create,
    clock,
    ...options,
  });
  onTestFinished(() => {
    gateway.actor.stop();
    expect(sockets.violations).toEqual([]);
  });
  const states: GatewayStateChange[] = [];
  const errors: Error[] = [];
  gateway.on('state', (state) => states.push(state));
  gateway.on('error', (error) => errors.push(error));

  const handshake = (sessionId = 'session-1') => {
    clock.flush();
    const socket = sockets.latest;
    socket.open();
    socket.receive(serverFrames.hello());
    socket.receive(serverFrames.ready(1, sessionId, 'wss://r.discord.gg'));
    return socket;
  };
  return { gateway, clock, sockets, states, errors, handshake };
}

/** Whether a promise has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await nextTurn();
  return done;
}

describe('createGateway', () => {
  it('start() resolves at READY and publishes the connecting phases, then ready', async () => {
    const { gateway, states, handshake } = fakeGateway();
    const started = gateway.start();
    expect(await settled(started)).toBe(false);
    handshake();
    await expect(started).resolves.toBeUndefined();

    expect(gateway.status).toBe('ready');
    expect(states.map((s) => `${s.state}${s.phase ? `:${s.kind}:${s.phase}` : ''}`)).toEqual([
      'connecting:fresh:draining',
      'connecting:fresh:waiting',
      'connecting:fresh:awaitingTurn',
      'connecting:fresh:handshake.opening',
      'connecting:fresh:handshake.awaitingHello',
      'connecting:fresh:handshake.identifying',
      'ready',
    ]);
    expect(states.at(-1)).toMatchObject({ state: 'ready', handshake: 'identify', generation: 1 });
  });

  it('start() rejects with FAILED when the token is refused (4004 during IDENTIFY)', async () => {
    const { gateway, clock, sockets, errors } = fakeGateway();
    const started = gateway.start();
    clock.flush();
    sockets.latest.open();
    sockets.latest.receive(serverFrames.hello());
    sockets.latest.peerClose(4004, 'Authentication failed.');

    await expect(started).rejects.toMatchObject({ name: 'GatewayError', code: 'FAILED' });
    expect(errors).toEqual([expect.objectContaining({ code: 'AUTH_FAILED', closeCode: 4004, closeReason: 'Authentication failed.' })]);
    await expect(gateway.stop()).resolves.toMatchObject({ status: 'failed' });
    expect(gateway.status).toBe('failed');
    expect(sockets.sockets).toHaveLength(1);
  });

  it('stop() resolves within drain + grace when the socket never closes, and never rejects', async () => {
    const { gateway, clock, handshake } = fakeGateway();
    void gateway.start();
    handshake().behaviour = { onClose: 'hangs', onTerminate: 'hangs' };
    const stopped = gateway.stop();
    clock.advance(5_999);
    expect(await settled(stopped)).toBe(false);
    clock.advance(1);
    await expect(stopped).resolves.toEqual({ status: 'stopped' });
    expect(gateway.status).toBe('stopped');
  });

  it('stop() during connecting rejects the pending start() with STOPPED', async () => {
    const { gateway } = fakeGateway();
    const started = gateway.start();
    await expect(gateway.stop()).resolves.toEqual({ status: 'stopped' });
    await expect(started).rejects.toMatchObject({ code: 'STOPPED' });
  });

  it('start() after stop rejects', async () => {
    const { gateway } = fakeGateway();
    await gateway.stop();
    await expect(gateway.start()).rejects.toBeInstanceOf(GatewayError);
  });

  it('reconnect() before start() rejects with NOT_STARTED', async () => {
    const { gateway } = fakeGateway();
    await expect(gateway.reconnect()).rejects.toMatchObject({ code: 'NOT_STARTED' });
  });

  it('reconnect() resolves at RESUMED', async () => {
    const { gateway, clock, sockets, handshake } = fakeGateway();
    void gateway.start();
    handshake();
    const resumed = gateway.reconnect();
    clock.flush();
    sockets.latest.open();
    sockets.latest.receive(serverFrames.hello());
    expect(await settled(resumed)).toBe(false);
    expect(sockets.latest.sentOps()).toEqual([GatewayOpcodes.Resume]);
    sockets.latest.receive(serverFrames.resumed(1));
    await expect(resumed).resolves.toBeUndefined();
  });

  it('reconnect({ fresh: true }) during a resume resolves only at the READY of a new IDENTIFY', async () => {
    const { gateway, clock, sockets, handshake } = fakeGateway();
    void gateway.start();
    handshake().peerClose(1006);
    const fresh = gateway.reconnect({ fresh: true });
    handshake('session-2');
    await expect(fresh).resolves.toBeUndefined();
    expect(sockets.latest.sentOps()).toEqual([GatewayOpcodes.Identify]);
    expect(gateway.actor.getSnapshot().context.session?.sessionId).toBe('session-2');
    expect(clock.now()).toBe(0);
  });

  it('send() queues until READY, then writes in order and resolves once written', async () => {
    const { gateway, handshake } = fakeGateway();
    const early = gateway.send({ op: 3, d: { status: 'online' } });
    void gateway.start();
    const socket = handshake();
    const late = gateway.send({ op: 3, d: { status: 'idle' } });
    await expect(Promise.all([early, late])).resolves.toEqual([undefined, undefined]);
    expect(socket.sent.filter((data) => data.startsWith('{"op":3'))).toEqual([
      '{"op":3,"d":{"status":"online"}}',
      '{"op":3,"d":{"status":"idle"}}',
    ]);
  });

  it('send() rejects, and reports, a payload that cannot be encoded or is too large', async () => {
    const { gateway, errors } = fakeGateway();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(gateway.send(circular)).rejects.toMatchObject({ code: 'ENCODE_FAILED' });
    await expect(gateway.send({ op: 3, d: 'x'.repeat(5_000) })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(errors.map((error) => (error as GatewayError).code)).toEqual(['ENCODE_FAILED', 'PAYLOAD_TOO_LARGE']);
  });

  it('delivers dispatches to every listener; a throwing listener is reported and does not stop the others', async () => {
    const { gateway, handshake, errors } = fakeGateway();
    const seen: number[] = [];
    gateway.on('dispatch', () => {
      throw new Error('listener bug');
    });
    const unsubscribe = gateway.on('dispatch', (payload) => seen.push(payload.s));
    void gateway.start();
    const socket = handshake();
    socket.receive(serverFrames.dispatch('MESSAGE_CREATE', 2));
    unsubscribe();
    socket.receive(serverFrames.dispatch('MESSAGE_CREATE', 3));

    expect(seen).toEqual([1, 2]); // READY is 1
    expect(errors.map((error) => (error as GatewayError).code)).toEqual(['LISTENER_THREW', 'LISTENER_THREW', 'LISTENER_THREW']);
    expect(gateway.status).toBe('ready');
  });

  it('reports a zombie connection as an error and recovers', async () => {
    const { gateway, clock, sockets, handshake, errors } = fakeGateway();
    void gateway.start();
    handshake();
    // Heartbeats begin at HELLO: the first at interval × 0.5, unanswered at the next, one interval on.
    clock.advance(41_250 * 1.5 - 1);
    expect(errors).toEqual([]);
    clock.advance(1);
    expect(errors.map((error) => (error as GatewayError).code)).toEqual(['ZOMBIE']);
    expect(sockets.sockets[0]!.calls).toEqual([{ method: 'terminate' }]);
    expect(gateway.status).toBe('connecting');
  });

  it('an abort signal stops the gateway', async () => {
    const controller = new AbortController();
    const { gateway, handshake } = fakeGateway({ signal: controller.signal });
    void gateway.start();
    handshake();
    controller.abort();
    await nextTurn();
    expect(gateway.status).toBe('stopped');
  });

  it('an already-aborted signal stops it at once', async () => {
    const controller = new AbortController();
    controller.abort();
    const { gateway } = fakeGateway({ signal: controller.signal });
    expect(gateway.status).toBe('stopped');
    await expect(gateway.start()).rejects.toMatchObject({ code: 'STOPPED' });
  });

  it('refuses an unknown event name', () => {
    const { gateway } = fakeGateway();
    expect(() => gateway.on('nope' as 'state', () => {})).toThrow(TypeError);
  });

  it('a throwing inspect observer is reported, not fatal', async () => {
    const { gateway, handshake, errors } = fakeGateway({
      inspect: () => {
        throw new Error('inspector bug');
      },
    });
    void gateway.start();
    handshake();
    expect(gateway.status).toBe('ready');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((error) => (error as GatewayError).code === 'INSPECTOR_THREW')).toBe(true);
  });
});

describe('createGateway: option validation', () => {
  const protocol = discordProtocol({ token: TOKEN, intents: 1 });
  it.each([
    ['a relative URL', { url: '/gateway', protocol }, /url/],
    ['an https URL', { url: 'https://gateway.discord.gg', protocol }, /ws:\/\/ or wss:\/\//],
    ['no protocol', { url: MAIN_URL }, /protocol/],
    ['a negative timeout', { url: MAIN_URL, protocol, timeouts: { drain: -1 } }, /timeouts\.drain/],
    ['a NaN timeout', { url: MAIN_URL, protocol, timeouts: { hello: Number.NaN } }, /timeouts\.hello/],
    ['an unknown timeout', { url: MAIN_URL, protocol, timeouts: { drian: 5 } }, /drian/],
    ['an unknown backoff option', { url: MAIN_URL, protocol, backoff: { base: 5 } }, /base/],
    ['a createSocket that is not a function', { url: MAIN_URL, protocol, createSocket: 'ws' }, /createSocket/],
    ['a signal that is not an AbortSignal', { url: MAIN_URL, protocol, signal: {} }, /signal/],
  ])('refuses %s, naming it', (_label, options, message) => {
    expect(() => createGateway(options as unknown as GatewayOptions)).toThrow(message);
  });

  it('the error for a bad option does not contain the token', () => {
    let message = '';
    try {
      createGateway({ url: MAIN_URL, protocol, timeouts: { drain: -1 } });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/drain/);
    expect(message).not.toContain(TOKEN);
  });
});
