import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ZlibStreamDecompressor } from '../../src/compression/zlibStream.ts';
import { startChaosGateway } from '../../src/testing/index.ts';
import {
  decompressionPaths,
  zstdAvailable,
  type DecompressionPath,
  type StreamCompression,
} from '../../src/compression/transportCompression.ts';
import type { CreateSocket, WebSocketLike } from '../../src/types.ts';
import { hideNativeHandles } from '../support/nativeHandles.ts';
import { closeAllHarnesses, sleep, startHarness, SocketTracker, type Harness } from '../support/realGateway.ts';

afterEach(closeAllHarnesses);

const KiB = 1024;
const streams: StreamCompression[] = ['zlib-stream', 'zstd-stream'];
const paths: DecompressionPath[] = ['native', 'streamed'];

/** Gateways made inside the suite read their streams on `path` (the streamed one even where the native one exists). */
function onPath(path: DecompressionPath) {
  beforeEach(() => {
    decompressionPaths.native = path === 'native';
  });
  afterEach(() => {
    decompressionPaths.native = true;
  });
}

if (!zstdAvailable()) {
  console.log(
    `integration/compression: zstd-stream did not run on real sockets: Node ${process.version} has no node:zlib zstd (Node ≥ 22.15 or 24); the creation error is asserted instead`,
  );
}

async function readyOn(compression: StreamCompression, maxPayload = 256 * KiB): Promise<Harness & { frames: boolean[] }> {
  const h = await startHarness({ gateway: { compression, socket: { maxPayload } } });
  await h.gateway.start();
  // Whether each frame the client received was binary: a compressed stream sends nothing else.
  const frames: boolean[] = [];
  const watch = () => h.tracker.last().on('message', (_data, isBinary) => frames.push(isBinary));
  watch();
  h.gateway.on('state', (change) => change.state === 'connecting' && change.phase === 'opening' && setImmediate(watch));
  return Object.assign(h, { frames });
}

async function recoverFrom(h: Harness, act: () => void) {
  const mark = h.states.length;
  act();
  await h.waitForState((s) => s.state === 'connecting', 'a reconnect to begin', mark);
  return h.waitForState((s) => s.state === 'ready', 'ready again', mark);
}

describe.each(streams.flatMap((name) => paths.map((path) => [name, path] as const)))(
  '%s on real sockets against the chaos gateway, %s path',
  (compression, path) => {
    onPath(path);
    if (compression === 'zstd-stream' && !zstdAvailable()) {
      it('is refused at creation, naming the Node version needed', async () => {
        await expect(startHarness({ gateway: { compression } })).rejects.toThrow(
          /createGateway: compression 'zstd-stream' needs node:zlib zstd, in Node ≥ 22\.15 or 24/,
        );
        await closeAllHarnesses();
      });
      return;
    }

    it('asks for the stream on every URL, main and resume, and delivers every event once through kills', async () => {
      const h = await readyOn(compression);
      h.server.startStream(2_000);
      for (let kill = 0; kill < 5; kill += 1) {
        await sleep(20);
        await recoverFrom(h, () => h.server.kill());
      }
      h.server.stopStream();
      const sent = h.server.counters.dispatched;
      await h.waitFor(() => h.dispatches.length >= sent, `${sent} dispatches`);

      expect(sent).toBeGreaterThan(20);
      const seqs = h.dispatches.map((d) => d.s);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
      expect(h.handshakes()).toEqual(['IDENTIFY', ...Array(5).fill('RESUME')]);
      // Each new socket read a new stream from its first byte: no context outlived its socket.
      expect(h.tracker.sockets).toHaveLength(6);
      for (const { url } of h.tracker.sockets) expect(new URL(url).searchParams.get('compress')).toBe(compression);
      // The resume URL (READY's, on the same host here) got the parameter too.
      expect(new URL(h.tracker.sockets.at(-1)!.url).search).toBe(`?v=10&encoding=json&compress=${compression}`);
      expect(h.frames.length).toBeGreaterThan(0);
      expect(h.frames.every((binary) => binary)).toBe(true);
      // Each kill is reported as the closed socket it is; nothing about the stream itself.
      expect(h.errors.filter((e) => (e as { code?: string }).code !== 'SOCKET_CLOSED')).toEqual([]);
      expect(h.errors).toHaveLength(5);
      expect(h.tracker.maxLive).toBe(1);
    });

    it.each([
      // 0x06 starts a block of the reserved type 3 in a deflate stream and in a zstd frame alike.
      [
        'garbage bytes in the stream',
        (h: Harness) => h.server.sendRaw(Buffer.from([0x06, 0, 0, 0xde, 0xad, 0, 0, 0xff, 0xff]), { binary: true }),
      ],
      ['a text frame', (h: Harness) => h.server.sendRaw(JSON.stringify({ op: 11 }), { binary: false })],
      [
        'a bomb past maxPayload',
        (h: Harness) => h.server.sendRaw('{"op":0,"t":"X","s":99,"d":"' + 'z'.repeat(4 * 1024 * KiB) + '"}', { compressed: true }),
      ],
      ['a message that is not JSON', (h: Harness) => h.server.sendRaw('{"op":0,"t":', { compressed: true })],
    ] as const)('%s is a protocol error, reported, and the session resumes on a new stream', async (_what, hostile) => {
      const h = await readyOn(compression);
      h.server.dispatch();
      await h.waitFor(() => h.dispatches.length === 1, 'a first dispatch');
      const ready = await recoverFrom(h, () => hostile(h));
      expect(ready.handshake).toBe('resume');
      expect(h.errors.filter((e) => e.name === 'GatewayProtocolError')).toHaveLength(1);
      h.server.dispatch();
      await h.waitFor(() => h.dispatches.length === 2, 'a dispatch on the new stream');
      const [first, second] = h.dispatches.map((d) => d.s);
      expect(second).toBeGreaterThan(first!);
      expect(h.gateway.status).toBe('ready');
      expect(h.tracker.maxLive).toBe(1);
    });
  },
);

/**
 * Sockets whose binary messages reach the engine cut into frames of `frameBytes`, as a server that
 * sends a long zlib-stream message in many WebSocket messages does.
 */
function cutIntoFrames(create: CreateSocket, frameBytes: number): CreateSocket {
  return (url) => {
    const socket = create(url);
    type Listener = (...args: never[]) => void;
    const cutters = new Map<Listener, Listener>();
    const cut = (listener: (data: unknown, isBinary: boolean) => void) => (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return listener(data, isBinary);
      for (let at = 0; at < data.byteLength; at += frameBytes) listener(data.subarray(at, at + frameBytes), true);
    };
    const facade: WebSocketLike = {
      get readyState() {
        return socket.readyState;
      },
      send: (data, done) => socket.send(data, done),
      close: (code, reason) => socket.close(code, reason),
      terminate: () => socket.terminate(),
      on: (event: 'open' | 'message' | 'close' | 'error', listener: Listener) => {
        if (event !== 'message') return socket.on(event as 'open', listener);
        const cutter = cut(listener as (data: unknown, isBinary: boolean) => void) as Listener;
        cutters.set(listener, cutter);
        return socket.on('message', cutter as (data: unknown, isBinary: boolean) => void);
      },
      off: (event, listener) => socket.off(event, (event === 'message' && cutters.get(listener)) || listener),
    };
    return facade;
  };
}

/** Base64 of a fixed pseudo-random sequence: text that deflate cannot shrink much. */
function incompressible(bytes: number): string {
  const raw = Buffer.alloc(bytes);
  let x = 0x2545f491;
  for (let i = 0; i < bytes; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw[i] = x & 0xff;
  }
  return raw.toString('base64');
}

describe.each(paths)('zlib-stream messages in many frames, %s path', (path) => {
  onPath(path);

  it('are read whole, each joined once rather than on every frame', async () => {
    const tracker = new SocketTracker();
    try {
      const h = await startHarness({ gateway: { compression: 'zlib-stream', createSocket: cutIntoFrames(tracker.createSocket, KiB) } });
      await h.gateway.start();
      const content = incompressible(40 * KiB);
      const concat = vi.spyOn(Buffer, 'concat');
      let joined: number;
      try {
        h.server.dispatch('MESSAGE_CREATE', { content });
        await h.waitFor(() => h.dispatches.length === 1, 'the long dispatch');
        joined = concat.mock.results.reduce((sum, r) => sum + (r.type === 'return' ? (r.value as Buffer).byteLength : 0), 0);
      } finally {
        concat.mockRestore();
      }
      expect((h.dispatches[0]?.d as { content?: string }).content).toBe(content);
      // About 40 frames of 1 KiB: one join is the message's size; a join per frame would be 20 times that.
      expect(joined).toBeLessThanOrEqual(2 * content.length);
      expect(h.errors).toEqual([]);
    } finally {
      await closeAllHarnesses();
      tracker.destroyAll();
    }
  });
});

describe('a Node whose node:zlib handle cannot be reached', () => {
  it.each(streams.filter((name) => name === 'zlib-stream' || zstdAvailable()))(
    '%s connects on the public streams, reads every event, and resumes through a kill',
    async (compression) => {
      const restore = hideNativeHandles();
      try {
        const h = await readyOn(compression);
        h.server.dispatch();
        await h.waitFor(() => h.dispatches.length === 1, 'a first dispatch');
        const ready = await recoverFrom(h, () => h.server.kill());
        expect(ready.handshake).toBe('resume');
        for (let i = 0; i < 20; i += 1) h.server.dispatch();
        await h.waitFor(() => h.dispatches.length === 21, '20 dispatches on the new stream');
        const seqs = h.dispatches.map((d) => d.s);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(h.handshakes()).toEqual(['IDENTIFY', 'RESUME']);
        expect(h.errors.filter((e) => (e as { code?: string }).code !== 'SOCKET_CLOSED')).toEqual([]);
      } finally {
        restore();
      }
    },
  );
});

describe('the chaos gateway', () => {
  const firstFrame = (url: string) =>
    new Promise<{ data: Buffer; isBinary: boolean }>((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.once('message', (data, isBinary) => {
        resolve({ data: data as Buffer, isBinary });
        socket.terminate();
      });
      socket.once('error', reject);
    });

  it('compresses its stream only for a client that asks, and sends plain JSON otherwise', async () => {
    const server = await startChaosGateway({ heartbeatInterval: 1_234 });
    try {
      const plain = await firstFrame(server.url);
      expect(plain.isBinary).toBe(false);
      expect(JSON.parse(plain.data.toString())).toMatchObject({ op: 10, d: { heartbeat_interval: 1_234 } });

      const compressed = await firstFrame(`${server.url}&compress=zlib-stream`);
      expect(compressed.isBinary).toBe(true);
      expect([...compressed.data.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
      const inflated = new ZlibStreamDecompressor(1024).push(compressed.data, true);
      expect(inflated.kind === 'message' && JSON.parse(inflated.text)).toMatchObject({ op: 10, d: { heartbeat_interval: 1_234 } });

      // A stream it does not know (or this Node cannot make) is not made: the frames stay plain JSON.
      const unknown = await firstFrame(`${server.url}&compress=brotli-stream`);
      expect(unknown.isBinary).toBe(false);
    } finally {
      await server.close();
    }
  });
});
