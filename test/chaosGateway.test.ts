import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { FrameBoundaryScanner } from '../src/testing/closeFrameTap.ts';
import { startChaosGateway, type ChaosGateway, type ChaosGatewayOptions, type GatewayFrame } from '../src/testing/index.ts';
import { GatewaySession } from '../src/testing/session.ts';

const TOKEN = 'secret-token';
// Long enough for a frame to cross loopback many times over, short enough to keep the suite fast.
const SILENCE_MS = 80;

interface CloseInfo {
  code: number;
  reason: string;
}

interface TestClient {
  readonly ws: WebSocket;
  /** Frames that parsed as JSON. */
  readonly frames: GatewayFrame[];
  /** Everything received, parsed or not. */
  readonly raw: Array<{ text: string; isBinary: boolean }>;
  readonly closed: Promise<CloseInfo>;
  send(op: number, d: unknown): void;
  /** First frame, already received or still to come, that matches. */
  waitFor(matches: (frame: GatewayFrame) => boolean, timeoutMs?: number): Promise<GatewayFrame>;
  closedWithin(ms: number): Promise<CloseInfo | undefined>;
}

const gateways: ChaosGateway[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.ws.terminate();
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

async function startGateway(options: ChaosGatewayOptions = {}): Promise<ChaosGateway> {
  const gateway = await startChaosGateway({ token: TOKEN, ...options });
  gateways.push(gateway);
  return gateway;
}

function connect(url: string): Promise<TestClient> {
  const ws = new WebSocket(url);
  const frames: GatewayFrame[] = [];
  const raw: TestClient['raw'] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    const text = String(data);
    raw.push({ text, isBinary });
    const frame = parseFrame(text);
    if (frame) frames.push(frame);
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => {});

  const client: TestClient = {
    ws,
    frames,
    raw,
    closed,
    send: (op, d) => ws.send(JSON.stringify({ op, d })),
    waitFor: (matches, timeoutMs = 2_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = frames.find(matches);
          if (!found) return false;
          waiters.delete(checkAndResolve);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const checkAndResolve = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(checkAndResolve);
          reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`));
        }, timeoutMs);
        if (!check()) waiters.add(checkAndResolve);
      }),
    closedWithin: (ms) => Promise.race([closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms))]),
  };
  clients.push(client);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

function parseFrame(text: string): GatewayFrame | undefined {
  try {
    return JSON.parse(text) as GatewayFrame;
  } catch {
    return undefined;
  }
}

const isOp = (op: number) => (frame: GatewayFrame) => frame.op === op;
const isEvent = (t: string) => (frame: GatewayFrame) => frame.op === 0 && frame.t === t;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function identify(client: TestClient, token = TOKEN): void {
  client.send(2, { token, intents: 513, properties: { os: 'linux', browser: 'test', device: 'test' } });
}

function resume(client: TestClient, sessionId: string, seq: number, token = TOKEN): void {
  client.send(6, { token, session_id: sessionId, seq });
}

async function readyClient(gateway: ChaosGateway): Promise<{ client: TestClient; sessionId: string }> {
  const client = await connect(gateway.url);
  await client.waitFor(isOp(10));
  identify(client);
  const ready = await client.waitFor(isEvent('READY'));
  return { client, sessionId: (ready.d as { session_id: string }).session_id };
}

function dispatchSeqs(frames: GatewayFrame[]): number[] {
  return frames.filter((frame) => frame.op === 0).map((frame) => frame.s as number);
}

describe('handshake', () => {
  it('sends HELLO with the configured heartbeat interval on connect', async () => {
    const gateway = await startGateway({ heartbeatInterval: 1234 });
    const client = await connect(gateway.url);

    const hello = await client.waitFor(isOp(10));

    expect(hello).toEqual({ op: 10, d: { heartbeat_interval: 1234 }, s: null, t: null });
    expect(gateway.url).toBe(`ws://127.0.0.1:${gateway.port}/?v=10&encoding=json`);
    expect(gateway.port).toBeGreaterThan(0);
  });

  it('answers IDENTIFY with READY carrying a session id and its own resume URL', async () => {
    const gateway = await startGateway();
    const { client, sessionId } = await readyClient(gateway);

    const ready = await client.waitFor(isEvent('READY'));
    expect(ready.s).toBe(1);
    expect(ready.d).toMatchObject({
      v: 10,
      session_id: sessionId,
      resume_gateway_url: `ws://127.0.0.1:${gateway.port}`,
      user: { id: '1', username: 'chaos' },
      guilds: [],
    });
    expect(sessionId).toMatch(/^[0-9a-f]{32}$/);
    expect(gateway.sessionCount()).toBe(1);
    expect(gateway.counters.identifies).toBe(1);
    expect(gateway.received).toEqual([expect.objectContaining({ connection: 1, op: 2, d: expect.objectContaining({ token: TOKEN }) })]);
  });

  it('gives every IDENTIFY its own session', async () => {
    const gateway = await startGateway();
    const first = await readyClient(gateway);
    const second = await readyClient(gateway);

    expect(first.sessionId).not.toBe(second.sessionId);
    expect(gateway.sessionCount()).toBe(2);
  });

  it('puts options.resumeUrl into READY', async () => {
    const gateway = await startGateway({ resumeUrl: 'ws://resume.example:9999' });
    const { client } = await readyClient(gateway);

    const ready = await client.waitFor(isEvent('READY'));
    expect(ready.d).toMatchObject({ resume_gateway_url: 'ws://resume.example:9999' });
  });

  it('closes with 4004 when IDENTIFY or RESUME carries the wrong token', async () => {
    const gateway = await startGateway();
    const identifying = await connect(gateway.url);
    identify(identifying, 'wrong');
    const resuming = await connect(gateway.url);
    resume(resuming, 'whatever', 0, 'wrong');

    expect((await identifying.closed).code).toBe(4004);
    expect((await resuming.closed).code).toBe(4004);
    expect(gateway.sessionCount()).toBe(0);
  });

  it('accepts any token when none is configured', async () => {
    const gateway = await startChaosGateway();
    gateways.push(gateway);
    const client = await connect(gateway.url);
    identify(client, 'anything');

    await client.waitFor(isEvent('READY'));
  });

  it('closes with 4005 on a second IDENTIFY', async () => {
    const gateway = await startGateway();
    const { client } = await readyClient(gateway);
    identify(client);

    expect((await client.closed).code).toBe(4005);
    expect(gateway.sessionCount()).toBe(1);
  });

  it('closes with 4003 when anything but heartbeat/identify/resume comes first', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    client.send(3, { status: 'online' });

    expect((await client.closed).code).toBe(4003);
  });

  it('accepts other client opcodes once identified', async () => {
    const gateway = await startGateway();
    const { client } = await readyClient(gateway);
    client.send(3, { status: 'online' });

    expect(await client.closedWithin(SILENCE_MS)).toBeUndefined();
    expect(gateway.received.map((frame) => frame.op)).toEqual([2, 3]);
  });

  it.each([
    ['invalid JSON', '{"op": 1,'],
    ['a JSON number', '42'],
    ['a JSON array', '[1, 2]'],
    ['an object without op', '{"d": null}'],
  ])('closes with 4002 on %s', async (_label, payload) => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    client.ws.send(payload);

    expect((await client.closed).code).toBe(4002);
    expect(gateway.received).toEqual([]);
  });

  it('closes with 4001 on an unknown opcode', async () => {
    const gateway = await startGateway();
    const { client } = await readyClient(gateway);
    client.send(42, null);

    expect((await client.closed).code).toBe(4001);
  });
});

describe('heartbeats', () => {
  it('acknowledges heartbeats and counts them', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    client.send(1, null);
    client.send(1, null);

    await vi.waitFor(() => expect(client.frames.filter(isOp(11))).toHaveLength(2));
    expect(client.frames.find(isOp(11))).toEqual({ op: 11, d: null, s: null, t: null });
    expect(gateway.counters.heartbeats).toBe(2);
  });

  it('withholds ACKs while dropAcks is on', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);

    gateway.dropAcks(true);
    client.send(1, null);
    await vi.waitFor(() => expect(gateway.counters.heartbeats).toBe(1));
    await sleep(SILENCE_MS);
    expect(client.frames.filter(isOp(11))).toHaveLength(0);

    gateway.dropAcks(false);
    client.send(1, null);
    await client.waitFor(isOp(11));
    expect(gateway.counters.heartbeats).toBe(2);
  });

  it('asks the client for a heartbeat with op 1', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    await client.waitFor(isOp(10));

    gateway.requestHeartbeat();

    expect(await client.waitFor(isOp(1))).toEqual({ op: 1, d: null, s: null, t: null });
  });
});

describe('dispatch and resume', () => {
  it('numbers dispatches per session and folds seq into d', async () => {
    const gateway = await startGateway();
    const { client } = await readyClient(gateway);

    expect(gateway.dispatch()).toBe(1);
    expect(gateway.dispatch('GUILD_CREATE', { id: '7' })).toBe(1);

    const created = await client.waitFor(isEvent('GUILD_CREATE'));
    expect(client.frames.find(isEvent('MESSAGE_CREATE'))).toEqual({ op: 0, t: 'MESSAGE_CREATE', s: 2, d: { seq: 2 } });
    expect(created).toEqual({ op: 0, t: 'GUILD_CREATE', s: 3, d: { id: '7', seq: 3 } });
    expect(gateway.counters.dispatched).toBe(2);
  });

  it('dispatches to nobody when there is no session', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);

    expect(gateway.dispatch()).toBe(0);
    await sleep(SILENCE_MS);
    expect(client.frames.filter(isOp(0))).toEqual([]);
  });

  it('replays exactly the missed dispatches on RESUME, then sends RESUMED', async () => {
    const gateway = await startGateway();
    const { client, sessionId } = await readyClient(gateway);
    gateway.dispatch();
    gateway.dispatch();
    await client.waitFor((frame) => frame.s === 3);

    client.ws.terminate();
    await vi.waitFor(() => expect(gateway.counters.open).toBe(0));
    expect(gateway.dispatch('MISSED', { n: 1 })).toBe(1);
    gateway.dispatch('MISSED', { n: 2 });

    const resumed = await connect(gateway.url);
    await resumed.waitFor(isOp(10));
    resume(resumed, sessionId, 3);
    const resumedEvent = await resumed.waitFor(isEvent('RESUMED'));

    expect(resumed.frames.filter(isOp(0))).toEqual([
      { op: 0, t: 'MISSED', s: 4, d: { n: 1, seq: 4 } },
      { op: 0, t: 'MISSED', s: 5, d: { n: 2, seq: 5 } },
      { op: 0, t: 'RESUMED', s: 6, d: { seq: 6 } },
    ]);
    expect(resumedEvent.s).toBe(6);
    expect(gateway.counters.resumes).toBe(1);

    gateway.dispatch('LIVE');
    expect((await resumed.waitFor(isEvent('LIVE'))).s).toBe(7);
  });

  it('replays from the sequence the client reports, even if it saw less than was sent', async () => {
    const gateway = await startGateway();
    const { client, sessionId } = await readyClient(gateway);
    for (let i = 0; i < 4; i++) gateway.dispatch();
    await client.waitFor((frame) => frame.s === 5);
    client.ws.terminate();

    const resumed = await connect(gateway.url);
    resume(resumed, sessionId, 2);
    await resumed.waitFor(isEvent('RESUMED'));

    expect(dispatchSeqs(resumed.frames)).toEqual([3, 4, 5, 6]);
  });

  it('moves the session to the resuming socket, leaving the old one silent', async () => {
    const gateway = await startGateway();
    const { client: original, sessionId } = await readyClient(gateway);

    const takeover = await connect(gateway.url);
    resume(takeover, sessionId, 1);
    await takeover.waitFor(isEvent('RESUMED'));
    gateway.dispatch('AFTER_TAKEOVER');

    await takeover.waitFor(isEvent('AFTER_TAKEOVER'));
    await sleep(SILENCE_MS);
    expect(original.frames.filter(isEvent('AFTER_TAKEOVER'))).toEqual([]);
  });

  it('answers RESUME of an unknown session with op 9 d=false', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    resume(client, 'no-such-session', 5);

    expect(await client.waitFor(isOp(9))).toEqual({ op: 9, d: false, s: null, t: null });
    // The socket stays usable for a fresh IDENTIFY.
    identify(client);
    await client.waitFor(isEvent('READY'));
  });

  it('delivers every sequence exactly once while sockets are killed mid-stream', async () => {
    const gateway = await startGateway();
    let { client, sessionId } = await readyClient(gateway);
    const sockets = [client];
    const lastSeq = (): number => Math.max(...sockets.flatMap((socket) => dispatchSeqs(socket.frames)));

    gateway.startStream(400);
    for (let round = 0; round < 4; round++) {
      await sleep(30);
      gateway.kill();
      expect((await client.closed).code).toBe(1006);
      client = await connect(gateway.url);
      sockets.push(client);
      await client.waitFor(isOp(10));
      resume(client, sessionId, lastSeq());
      await client.waitFor(isEvent('RESUMED'));
    }
    gateway.stopStream();
    gateway.dispatch('END');
    await client.waitFor(isEvent('END'));

    const seen = sockets.flatMap((socket) => dispatchSeqs(socket.frames));
    const end = seen.at(-1) ?? 0;
    expect(seen).toEqual(Array.from({ length: end }, (_, index) => index + 1));
    // Well over the 4 READY/RESUMED frames: the stream was really running.
    expect(gateway.counters.dispatched).toBeGreaterThan(20);
    expect(gateway.counters.resumes).toBe(4);
  });
});

describe('session replay buffer', () => {
  it('refuses a resume whose missed events were already evicted', () => {
    const session = new GatewaySession(3);
    for (let i = 0; i < 5; i++) session.append('E', {});

    expect(session.framesAfter(5)).toEqual([]);
    expect(session.framesAfter(2)?.map((frame) => frame.s)).toEqual([3, 4, 5]);
    expect(session.framesAfter(1)).toBeUndefined();
  });

  it('wraps non-object payloads instead of dropping them', () => {
    const session = new GatewaySession();

    expect(session.append('E', 'text').d).toEqual({ value: 'text', seq: 1 });
    expect(session.append('E', [1]).d).toEqual({ value: [1], seq: 2 });
  });
});

describe('faults', () => {
  it('kill destroys sockets without a close frame', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    await client.waitFor(isOp(10));
    const serverCloses: Array<number | undefined> = [];
    gateway.on('close', ({ code }) => serverCloses.push(code));

    gateway.kill();

    expect((await client.closed).code).toBe(1006);
    await vi.waitFor(() => expect(gateway.counters.open).toBe(0));
    expect(serverCloses).toEqual([1006]);
  });

  it('closeWith sends a close frame with the given code and reason', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);

    gateway.closeWith(4004, 'bad token');

    expect(await client.closed).toEqual({ code: 4004, reason: 'bad token' });
    await vi.waitFor(() => expect(gateway.counters.open).toBe(0));
  });

  it('stallHello withholds HELLO from the next N connections only', async () => {
    const gateway = await startGateway();
    gateway.stallHello(2);
    const silent = [await connect(gateway.url), await connect(gateway.url)];
    const greeted = await connect(gateway.url);

    await greeted.waitFor(isOp(10));
    await sleep(SILENCE_MS);
    for (const client of silent) expect(client.frames).toEqual([]);
    expect(gateway.counters.open).toBe(3);
  });

  it('stallReady withholds READY, and RESUMED with its replay, for the next N handshakes', async () => {
    const gateway = await startGateway();
    const { client: original, sessionId } = await readyClient(gateway);
    gateway.dispatch();
    await original.waitFor((frame) => frame.s === 2);
    original.ws.terminate();
    gateway.dispatch();

    gateway.stallReady(2);
    const stalledIdentify = await connect(gateway.url);
    identify(stalledIdentify);
    const stalledResume = await connect(gateway.url);
    resume(stalledResume, sessionId, 2);
    await vi.waitFor(() => expect(gateway.counters.resumes).toBe(1));
    await sleep(SILENCE_MS);

    expect(stalledIdentify.frames.filter(isOp(0))).toEqual([]);
    expect(stalledResume.frames.filter(isOp(0))).toEqual([]);
    expect(gateway.sessionCount()).toBe(1);

    const next = await connect(gateway.url);
    resume(next, sessionId, 2);
    await next.waitFor(isEvent('RESUMED'));
    expect(dispatchSeqs(next.frames)).toEqual([3, 4]);
  });

  it('a stalled handshake cannot be retried on the same socket', async () => {
    const gateway = await startGateway();
    gateway.stallReady();
    const client = await connect(gateway.url);
    identify(client);
    await vi.waitFor(() => expect(gateway.counters.identifies).toBe(1));
    identify(client);

    expect((await client.closed).code).toBe(4005);
  });

  describe('neverCloseHandshake', () => {
    it('completes the close handshake normally when off', async () => {
      const gateway = await startGateway();
      const client = await connect(gateway.url);
      client.ws.close(1000);

      expect(await client.closedWithin(SILENCE_MS)).toEqual({ code: 1000, reason: '' });
    });

    it('never answers a client close, but notices when the client destroys its socket', async () => {
      const gateway = await startGateway();
      gateway.neverCloseHandshake(true);
      const client = await connect(gateway.url);
      // Frames before the close frame are still read.
      client.send(1, null);
      await client.waitFor(isOp(11));

      client.ws.close(1000);
      expect(await client.closedWithin(100)).toBeUndefined();
      expect(gateway.counters.open).toBe(1);

      client.ws.terminate();
      await vi.waitFor(() => expect(gateway.counters.open).toBe(0));
    });

    it('swallows a close frame that arrives in the same TCP chunk as other frames', async () => {
      const gateway = await startGateway();
      gateway.neverCloseHandshake(true);
      const client = await connect(gateway.url);
      await client.waitFor(isOp(10));

      client.ws.send(JSON.stringify({ op: 1, d: 'x'.repeat(200) }));
      client.ws.close(1000);

      await client.waitFor(isOp(11));
      expect(await client.closedWithin(100)).toBeUndefined();
      expect(gateway.counters.heartbeats).toBe(1);
    });
  });

  it('requestReconnect sends op 7 to every open client', async () => {
    const gateway = await startGateway();
    const clientsOpen = [await connect(gateway.url), await connect(gateway.url)];

    gateway.requestReconnect();

    for (const client of clientsOpen) {
      expect(await client.waitFor(isOp(7))).toEqual({ op: 7, d: null, s: null, t: null });
    }
  });

  it('invalidateSession(true) keeps the session resumable', async () => {
    const gateway = await startGateway();
    const { client, sessionId } = await readyClient(gateway);

    gateway.invalidateSession(true);

    expect((await client.waitFor(isOp(9))).d).toBe(true);
    expect(gateway.sessionCount()).toBe(1);
    const next = await connect(gateway.url);
    resume(next, sessionId, 1);
    await next.waitFor(isEvent('RESUMED'));
  });

  it('invalidateSession(false) forgets the session, so RESUME gets op 9 d=false', async () => {
    const gateway = await startGateway();
    const { client, sessionId } = await readyClient(gateway);

    gateway.invalidateSession(false);

    expect((await client.waitFor(isOp(9))).d).toBe(false);
    expect(gateway.sessionCount()).toBe(0);
    const next = await connect(gateway.url);
    resume(next, sessionId, 1);
    expect((await next.waitFor(isOp(9))).d).toBe(false);
  });

  it('sendRaw delivers arbitrary text and binary frames', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    await client.waitFor(isOp(10));

    gateway.sendRaw('not json');
    gateway.sendRaw(Buffer.from('bytes'), { binary: true });

    await vi.waitFor(() => expect(client.raw).toHaveLength(3));
    expect(client.raw.slice(1)).toEqual([
      { text: 'not json', isBinary: false },
      { text: 'bytes', isBinary: true },
    ]);
  });
});

describe('bookkeeping', () => {
  it('tracks connections, open sockets and the peak', async () => {
    const gateway = await startGateway();
    const three = [await connect(gateway.url), await connect(gateway.url), await connect(gateway.url)];
    await vi.waitFor(() => expect(gateway.counters.open).toBe(3));

    three[0]?.ws.terminate();
    three[1]?.ws.terminate();
    await vi.waitFor(() => expect(gateway.counters.open).toBe(1));
    expect(gateway.counters).toMatchObject({ connections: 3, open: 1, maxOpen: 3 });

    gateway.resetCounters();
    expect(gateway.counters).toEqual({
      connections: 0,
      open: 1,
      maxOpen: 1,
      identifies: 0,
      resumes: 0,
      heartbeats: 0,
      dispatched: 0,
    });
  });

  it('resetCounters empties the received log', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    client.send(1, 7);
    await vi.waitFor(() => expect(gateway.received).toHaveLength(1));
    expect(gateway.received[0]).toMatchObject({ connection: 1, op: 1, d: 7 });

    gateway.resetCounters();

    expect(gateway.received).toEqual([]);
  });

  it('emits lifecycle events with 1-based connection ids until unsubscribed', async () => {
    const gateway = await startGateway();
    const events: string[] = [];
    const unsubscribe = ['connection', 'identify', 'resume', 'close'].map((name) =>
      gateway.on(name as 'connection', ({ connection }) => events.push(`${name}:${connection}`)),
    );

    const { client, sessionId } = await readyClient(gateway);
    client.ws.terminate();
    await vi.waitFor(() => expect(events).toContain('close:1'));
    const next = await connect(gateway.url);
    resume(next, sessionId, 1);
    await next.waitFor(isEvent('RESUMED'));
    expect(events).toEqual(['connection:1', 'identify:1', 'close:1', 'connection:2', 'resume:2']);

    for (const off of unsubscribe) off();
    await connect(gateway.url);
    await vi.waitFor(() => expect(gateway.counters.connections).toBe(3));
    expect(events).toHaveLength(5);
  });

  it('close terminates clients, is idempotent, and frees the port', async () => {
    const gateway = await startGateway();
    const client = await connect(gateway.url);
    gateway.startStream(100);

    const first = gateway.close();
    const second = gateway.close();
    expect(second).toBe(first);
    await first;

    expect((await client.closed).code).toBe(1006);
    expect(gateway.counters.open).toBe(0);
    await expect(connect(gateway.url)).rejects.toThrow();
  });
});

describe('FrameBoundaryScanner', () => {
  // Client frames are always masked: FIN|opcode, MASK|len, [ext len], 4-byte key, payload.
  function maskedFrame(opcode: number, payloadLength: number): Buffer {
    const lengthBytes = payloadLength < 126 ? [0x80 | payloadLength] : [0x80 | 126, payloadLength >> 8, payloadLength & 0xff];
    return Buffer.concat([Buffer.from([0x80 | opcode, ...lengthBytes, 1, 2, 3, 4]), Buffer.alloc(payloadLength, 0x41)]);
  }

  it('finds a close frame behind data frames, including extended lengths', () => {
    const text = maskedFrame(0x1, 10);
    const long = maskedFrame(0x1, 300);
    const stream = Buffer.concat([text, long, maskedFrame(0x8, 2)]);

    expect(new FrameBoundaryScanner().findCloseFrame(stream)).toBe(text.length + long.length);
  });

  it('does not mistake payload bytes for a close frame', () => {
    const payloadThatLooksLikeClose = Buffer.concat([Buffer.from([0x81, 0x85, 1, 2, 3, 4]), Buffer.alloc(5, 0x88)]);

    expect(new FrameBoundaryScanner().findCloseFrame(payloadThatLooksLikeClose)).toBe(-1);
  });

  it('follows frames split across chunks at any byte', () => {
    const first = maskedFrame(0x1, 300);
    const stream = Buffer.concat([first, maskedFrame(0x8, 2)]);

    for (let split = 1; split < first.length; split++) {
      const scanner = new FrameBoundaryScanner();
      expect(scanner.findCloseFrame(stream.subarray(0, split))).toBe(-1);
      expect(scanner.findCloseFrame(stream.subarray(split))).toBe(first.length - split);
    }
  });
});
