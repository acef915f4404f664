import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createGateway,
  discordProtocol,
  superviseGateway,
  type GatewayStateChange,
  type HeartbeatRoundTrip,
  type SocketContext,
} from '../../src/index.ts';
import { startChaosGateway } from '../../src/testing/index.ts';
import { closeAllHarnesses, sleep, startHarness, token, type Harness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

async function readyHarness(options?: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const h = await startHarness(options);
  await h.gateway.start();
  return h;
}

/** Kills the socket, appends `missed` events while it is down, and waits for the session to be ready again. */
async function killAndResume(h: Harness, missed: number): Promise<GatewayStateChange> {
  const mark = h.states.length;
  h.server.kill();
  for (let i = 0; i < missed; i += 1) h.server.dispatch('MESSAGE_CREATE', { missed: i });
  return h.waitForState((s) => s.state === 'ready', 'ready after the kill', mark);
}

describe('on(dispatch) delivers READY and RESUMED as the server sent them', () => {
  it('READY comes first, with its d whole (user, guilds, session id, resume URL), and the gateway is ready by then', async () => {
    const h = await startHarness();
    let statusAtReady: string | undefined;
    let sessionAtReady: string | undefined;
    h.gateway.on('dispatch', (payload) => {
      if (payload.t !== 'READY') return;
      statusAtReady = h.gateway.status;
      sessionAtReady = h.gateway.session()?.sessionId;
    });
    await h.gateway.start();

    const ready = h.everyDispatch[0];
    expect(ready).toMatchObject({ op: 0, t: 'READY', s: 1 });
    if (ready?.t !== 'READY') throw new Error('the first dispatch is not READY');
    expect(ready.d.session_id).toBe(h.gateway.session()?.sessionId);
    expect(ready.d.user).toEqual({ id: '1', username: 'chaos' });
    expect(ready.d.guilds).toEqual([]);
    expect(ready.d.resume_gateway_url).toEqual(expect.any(String));
    expect(statusAtReady).toBe('ready');
    expect(sessionAtReady).toBe(ready.d.session_id);
  });

  it('RESUMED follows the replay; the ready state change says how many events were replayed, repeats not counted', async () => {
    const h = await readyHarness();
    h.server.dispatch();
    h.server.dispatch();
    await h.waitFor(() => h.dispatches.length === 2, 'two dispatches');
    h.server.replayOverlap(2); // the server sends the last two delivered events again: dropped, not counted
    const ready = await killAndResume(h, 3);

    expect(ready).toMatchObject({ state: 'ready', handshake: 'resume', replayed: 3 });
    await h.waitFor(() => h.everyDispatch.some((p) => p.t === 'RESUMED'), 'RESUMED');
    expect(h.everyDispatch.map((p) => p.t)).toEqual([
      'READY',
      'MESSAGE_CREATE',
      'MESSAGE_CREATE',
      ...Array(3).fill('MESSAGE_CREATE'),
      'RESUMED',
    ]);
    expect(h.everyDispatch.map((p) => p.s)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('a resume with nothing missed reports replayed: 0; an IDENTIFY reports no replay count', async () => {
    const h = await readyHarness();
    expect(h.states.find((s) => s.state === 'ready')?.replayed).toBeUndefined();
    const ready = await killAndResume(h, 0);
    expect(ready).toMatchObject({ handshake: 'resume', replayed: 0 });
  });

  it('every op 0 event, READY and RESUMED included, once and in sequence order, while the server kills the socket repeatedly', async () => {
    const h = await readyHarness();
    h.server.replayOverlap(5);
    h.server.startStream(2_000);
    for (let kill = 0; kill < 5; kill += 1) {
      await sleep(20);
      const mark = h.states.length;
      h.server.kill();
      await h.waitForState((s) => s.state === 'ready', `ready after kill ${kill + 1}`, mark);
    }
    h.server.stopStream();
    const sent = h.server.counters.dispatched;
    await h.waitFor(() => h.dispatches.length >= sent, `${sent} dispatches`);

    const seqs = h.everyDispatch.map((p) => p.s);
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
    expect(h.everyDispatch.filter((p) => p.t === 'READY')).toHaveLength(1);
    expect(h.everyDispatch.filter((p) => p.t === 'RESUMED')).toHaveLength(5);
    expect(h.everyDispatch).toHaveLength(sent + 6);
  });
});

describe('heartbeat round trips', () => {
  it('on(heartbeat) gets each ACK with its round trip, and latency() the last one; null before the first', async () => {
    const h = await readyHarness();
    expect(h.gateway.latency()).toBeNull();
    const beats: HeartbeatRoundTrip[] = [];
    h.gateway.on('heartbeat', (beat) => beats.push(beat));
    h.server.requestHeartbeat(); // answered at once, and its ACK timed like a scheduled beat's
    await h.waitFor(() => beats.length === 1, 'a heartbeat ACK');

    const [beat] = beats;
    expect(beat!.ackedAt).toBeGreaterThanOrEqual(beat!.sentAt);
    expect(beat!.latencyMs).toBe(beat!.ackedAt - beat!.sentAt);
    expect(h.gateway.latency()).toBe(beat!.latencyMs);
  });

  it('scheduled beats are timed too, through a supervised gateway', async () => {
    const server = await startChaosGateway({ heartbeatInterval: 30, token: 'Bot.test' });
    const supervised = superviseGateway({
      url: server.url,
      protocol: discordProtocol({ token: 'Bot.test', intents: GatewayIntentBits.Guilds }),
    });
    try {
      const beats: HeartbeatRoundTrip[] = [];
      supervised.on('heartbeat', (beat) => beats.push(beat));
      expect(supervised.latency()).toBeNull();
      await supervised.start();
      const deadline = Date.now() + 3_000;
      while (beats.length < 2 && Date.now() < deadline) await sleep(5);
      expect(beats.length).toBeGreaterThanOrEqual(2);
      expect(supervised.latency()).toBe(beats.at(-1)!.latencyMs);
    } finally {
      await supervised.stop();
      await server.close();
    }
  });
});

describe('the debug stream', () => {
  it('one line per lifecycle step: open, HELLO, IDENTIFY, READY, close with its code, RESUME with its backoff, stop', async () => {
    const h = await startHarness();
    const lines: string[] = [];
    h.gateway.on('debug', (line) => lines.push(line));
    await h.gateway.start();
    await killAndResume(h, 1);
    await h.gateway.stop();

    const expected = [
      /^start: IDENTIFY at once$/,
      /^opening a socket$/,
      /^socket opened; waiting for HELLO$/,
      /^HELLO received; IDENTIFY sent$/,
      /^READY: session ready$/,
      /^socket closed \(1006\): RESUME (at once|in \d+ ms \(after backoff\)), attempt \d+; closing the old socket first$/,
      /^draining the old socket/,
      /^HELLO received; RESUME sent$/,
      /^RESUMED: session ready again, 1 event replayed$/,
      /^closing the socket \(stop requested\)$/,
      /^stopped \(stop requested\)$/,
    ];
    let at = 0;
    for (const pattern of expected) {
      const found = lines.findIndex((line, index) => index >= at && pattern.test(line));
      expect(found, `${String(pattern)} in order, in:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });
});

describe('state events of a stop', () => {
  it('closing and stopped carry the stop as their reason, not the fault recovered from before', async () => {
    const h = await readyHarness();
    await killAndResume(h, 0);
    const mark = h.states.length;
    await h.gateway.stop();
    const ending = h.states.slice(mark);
    expect(ending.map((s) => s.state)).toEqual(['closing', 'stopped']);
    for (const change of ending) expect(change).toMatchObject({ code: 'STOP', reason: 'stop requested' });
  });

  it('a stop that keeps the session says so', async () => {
    const h = await readyHarness();
    const mark = h.states.length;
    await h.gateway.stop({ keepSession: true });
    expect(h.states.slice(mark).at(-1)).toMatchObject({ state: 'stopped', code: 'STOP', reason: 'stop({ keepSession: true }) requested' });
  });
});

describe('createSocket', () => {
  it('gets the shard id as its second argument: null for an unsharded gateway, identify.shard[0] when set', async () => {
    for (const [identify, shardId] of [
      [undefined, null],
      [{ shard: [2, 4] }, 2],
    ] as const) {
      const contexts: (SocketContext | undefined)[] = [];
      const h = await startHarness();
      const gateway = createGateway({
        url: h.server.url,
        protocol: discordProtocol({ token, intents: GatewayIntentBits.Guilds, ...(identify ? { identify } : {}) }),
        createSocket: (url, context) => {
          contexts.push(context);
          return h.tracker.createSocket(url);
        },
      });
      try {
        await gateway.start();
        expect(contexts).toEqual([{ shardId }]);
      } finally {
        await gateway.stop();
      }
    }
  });

  it('with socket.headers or socket.agent is a TypeError naming them; socket.maxPayload alone is accepted', () => {
    const base = {
      url: 'ws://127.0.0.1:1/?v=10&encoding=json',
      protocol: discordProtocol({ token: 'Bot.test', intents: GatewayIntentBits.Guilds }),
      createSocket: () => {
        throw new Error('never called');
      },
    };
    expect(() => createGateway({ ...base, socket: { headers: { 'X-Test': '1' } } })).toThrow(TypeError);
    expect(() => createGateway({ ...base, socket: { headers: { 'X-Test': '1' } } })).toThrow(/socket\.headers/);
    expect(() => superviseGateway({ ...base, socket: { headers: {}, agent: undefined } })).toThrow(/socket\.headers/);
    const gateway = createGateway({ ...base, socket: { maxPayload: 1024 } });
    void gateway.stop();
  });
});
