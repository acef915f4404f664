import zlib from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { createGateway } from '../../src/api/createGateway.ts';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import type { Decompressor, Inflated, LateOutcome } from '../../src/compression/decompressor.ts';
import { StreamedZlibDecompressor, StreamedZstdDecompressor } from '../../src/compression/streamedContext.ts';
import {
  decompressionPaths,
  resolveCompression,
  transportCompression,
  withCompressParameter,
  zstdAvailable,
  type DecompressionPath,
  type StreamCompression,
} from '../../src/compression/transportCompression.ts';
import { ZlibStreamDecompressor } from '../../src/compression/zlibStream.ts';
import { ZstdStreamDecompressor } from '../../src/compression/zstdStream.ts';
import { SocketLine } from '../../src/connection/socketLine.ts';
import { createStreamCompressor, type StreamCompressor } from '../../src/testing/streamCompression.ts';
import { SocketState } from '../../src/types.ts';
import { SocketActorHarness } from '../fuzz/socketHarness.ts';
import { FakeSocket } from '../support/fakeSocket.ts';
import { hideNativeHandles } from '../support/nativeHandles.ts';

const KiB = 1024;
const event = (s: number, content = `message number ${s}, `.repeat(20)) =>
  JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s, d: { id: String(1e17 + s), channel_id: '42', content } });

const paths: DecompressionPath[] = ['native', 'streamed'];

function decompressorFor(name: StreamCompression, maxPayload = 64 * KiB, path: DecompressionPath = 'native'): Decompressor {
  if (path === 'streamed') {
    return name === 'zlib-stream' ? new StreamedZlibDecompressor(maxPayload) : new StreamedZstdDecompressor(maxPayload);
  }
  return name === 'zlib-stream' ? new ZlibStreamDecompressor(maxPayload) : new ZstdStreamDecompressor(maxPayload);
}

/**
 * Feeds one frame and resolves with its outcome, on either path: a queued frame's outcome comes
 * through the listener once the context has settled, and is `partial` when the frame completed nothing.
 */
async function read(client: Decompressor, data: unknown, isBinary = true): Promise<Inflated> {
  const late: LateOutcome[] = [];
  client.listen((outcome) => late.push(outcome));
  const now = client.push(data, isBinary);
  if (now.kind !== 'queued') return now;
  await new Promise<void>((resolve) => client.whenSettled(resolve));
  expect(late.length).toBeLessThanOrEqual(1);
  return late[0] ?? { kind: 'partial' };
}

/** Text that deflate cannot shrink much (base64 of a fixed pseudo-random sequence), so it stays large on the wire. */
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

/** Runs `body` and returns the bytes every Buffer.concat call made in it produced: what was copied to join buffers. */
async function bytesJoinedDuring(body: () => Promise<void>): Promise<number> {
  const concat = vi.spyOn(Buffer, 'concat');
  try {
    await body();
    return concat.mock.results.reduce((sum, result) => sum + (result.type === 'return' ? (result.value as Buffer).byteLength : 0), 0);
  } finally {
    concat.mockRestore();
  }
}

/**
 * Frames of `size` bytes that continue one valid zlib stream (a header, then stored blocks of
 * 0x55) and never reach a sync-flush marker: a message that never ends.
 */
function framesWithoutMarker(count: number, size = KiB): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const header = i === 0 ? [0x78, 0x01] : [];
    const length = size - header.length - 5;
    const block = [0x00, length & 0xff, length >> 8, ~length & 0xff, (~length >> 8) & 0xff];
    return Buffer.concat([Buffer.from([...header, ...block]), Buffer.alloc(length, 0x55)]);
  });
}

/** A one-shot zlib stream whose only message inflates to `size` zero bytes: a few KiB on the wire. */
function zlibBomb(size: number): Buffer {
  return zlib.deflateSync(Buffer.alloc(size), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

const streams: StreamCompression[] = ['zlib-stream', 'zstd-stream'];

if (!zstdAvailable()) {
  console.log(
    `compression.test: zstd-stream decompression tests did not run: node:zlib on Node ${process.version} has no zstd (Node ≥ 22.15 or 24); the creation error is asserted instead`,
  );
}

describe.each(streams.flatMap((name) => paths.map((path) => [name, path] as const)))('%s decompressor, %s path', (name, path) => {
  if (name === 'zstd-stream' && !zstdAvailable()) {
    if (path === 'streamed') {
      it('is refused at creation, naming the Node version needed', () => {
        expect(() => new StreamedZstdDecompressor(1024)).toThrow(/Node ≥ 22\.15 or 24/);
      });
      return;
    }
    it('is refused at creation with an error naming the Node version needed', () => {
      expect(() => resolveCompression('zstd-stream')).toThrow(TypeError);
      expect(() => resolveCompression('zstd-stream')).toThrow(/Node ≥ 22\.15 or 24/);
      expect(() => new ZstdStreamDecompressor(1024)).toThrow(/Node ≥ 22\.15 or 24/);
      expect(() =>
        createGateway({ url: 'ws://127.0.0.1:1/', protocol: discordProtocol({ token: 't', intents: 1 }), compression: 'zstd-stream' }),
      ).toThrow(/createGateway: compression 'zstd-stream' needs node:zlib zstd, in Node ≥ 22\.15 or 24; this is Node v/);
      expect(resolveCompression('auto')).toBe('zlib-stream');
    });
    return;
  }

  it('reads many messages through one context, later ones built on earlier ones', async () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name, 64 * KiB, path);
    const sizes: number[] = [];
    for (let s = 1; s <= 50; s += 1) {
      const frame = server.compress(event(s));
      sizes.push(frame.byteLength);
      expect(await read(client, frame, true)).toEqual({ kind: 'message', text: event(s) });
    }
    // The shared history is what makes later frames small: a fresh context could not read them.
    expect(sizes.at(-1)).toBeLessThan((sizes[0] ?? 0) / 2);
    const late = server.compress(event(51));
    expect((await read(decompressorFor(name, 64 * KiB, path), late, true)).kind).toBe('broken');
  });

  it('keeps a message larger than one output pass whole', async () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name, 1024 * KiB, path);
    const large = event(1, 'x'.repeat(200 * KiB) + 'é'.repeat(40 * KiB));
    expect(await read(client, server.compress(large), true)).toEqual({ kind: 'message', text: large });
  });

  it('stops a decompression bomb at maxPayload, and the stream stays broken', async () => {
    const client = decompressorFor(name, 256 * KiB, path);
    const bomb =
      name === 'zlib-stream' ? zlibBomb(64 * 1024 * KiB) : createStreamCompressor('zstd-stream').compress('0'.repeat(64 * 1024 * KiB));
    expect(bomb.byteLength).toBeLessThan(128 * KiB);
    const before = process.memoryUsage().arrayBuffers;
    const result = await read(client, bomb, true);
    expect(result).toEqual({ kind: 'broken', reason: expect.stringMatching(/inflates past maxPayload \(262144 bytes\)/) });
    // 64 MiB were never produced: at most the bound and one output pass.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * KiB);
    expect(await read(client, createStreamCompressor(name).compress(event(1)), true)).toEqual({ kind: 'dropped' });
  });

  it('a message of exactly maxPayload passes; one byte more is a bomb', async () => {
    const text = event(1);
    const exact = decompressorFor(name, Buffer.byteLength(text), path);
    expect(await read(exact, createStreamCompressor(name).compress(text), true)).toEqual({ kind: 'message', text });
    const under = decompressorFor(name, Buffer.byteLength(text) - 1, path);
    expect((await read(under, createStreamCompressor(name).compress(text), true)).kind).toBe('broken');
  });

  it('a corrupt stream is broken, with the reason', async () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name, 64 * KiB, path);
    expect((await read(client, server.compress(event(1)), true)).kind).toBe('message');
    const frame = Buffer.from(server.compress(event(2)));
    frame.fill(0xff, 0, Math.min(8, frame.byteLength - 4));
    expect(await read(client, frame, true)).toEqual({ kind: 'broken', reason: expect.stringMatching(/corrupt compressed stream/) });
  });

  it('a truncated message is never delivered as the message', async () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name, 64 * KiB, path);
    expect((await read(client, server.compress(event(1)), true)).kind).toBe('message');
    const frame = server.compress(event(2, 'a message long enough to cut '.repeat(10)));
    const half = frame.subarray(0, Math.floor(frame.byteLength / 2));
    const truncated = name === 'zlib-stream' ? Buffer.concat([half, Buffer.from([0, 0, 0xff, 0xff])]) : half;
    const result = await read(client, truncated, true);
    // Either the decompressor sees the damage, or the text is a cut-off message the decoder rejects.
    if (result.kind === 'message') expect(() => JSON.parse(result.text)).toThrow();
    else expect(result.kind).toBe('broken');
  });

  it('a text frame on a compressed stream is broken', async () => {
    const client = decompressorFor(name, 64 * KiB, path);
    expect(await read(client, event(1), false)).toEqual({ kind: 'broken', reason: `text frame on a ${name} connection` });
    expect(await read(client, createStreamCompressor(name).compress(event(1)), true)).toEqual({ kind: 'dropped' });
  });

  it('a frame of an unknown type is broken', async () => {
    expect((await read(decompressorFor(name, 64 * KiB, path), { not: 'bytes' }, true)).kind).toBe('broken');
  });

  it('reads frames delivered as an ArrayBuffer or a list of buffers', async () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name, 64 * KiB, path);
    const first = server.compress(event(1));
    const arrayBuffer = first.buffer.slice(first.byteOffset, first.byteOffset + first.byteLength);
    expect(await read(client, arrayBuffer, true)).toEqual({ kind: 'message', text: event(1) });
    const second = server.compress(event(2));
    expect(await read(client, [second.subarray(0, 3), second.subarray(3)], true)).toEqual({ kind: 'message', text: event(2) });
  });

  it('close() frees the context; later frames are dropped', async () => {
    const client = decompressorFor(name, 64 * KiB, path);
    client.close();
    client.close();
    expect(await read(client, createStreamCompressor(name).compress(event(1)), true)).toEqual({ kind: 'dropped' });
  });
});

describe.each(paths)('zlib-stream framing, %s path', (path) => {
  const client = (maxPayload = 64 * KiB) => decompressorFor('zlib-stream', maxPayload, path);

  it('buffers a message split over frames until its sync-flush suffix arrives', async () => {
    const frame = createStreamCompressor('zlib-stream').compress(event(1, 'spread over frames '.repeat(200)));
    const reader = client();
    const third = Math.floor(frame.byteLength / 3);
    expect(await read(reader, frame.subarray(0, third))).toEqual({ kind: 'partial' });
    expect(await read(reader, frame.subarray(third, 2 * third))).toEqual({ kind: 'partial' });
    expect(await read(reader, frame.subarray(2 * third))).toEqual({ kind: 'message', text: event(1, 'spread over frames '.repeat(200)) });
  });

  it('finds the suffix when it is split across two frames, or three', async () => {
    const server = createStreamCompressor('zlib-stream');
    const reader = client();
    const frame = server.compress(event(7));
    expect([...frame.subarray(-4)]).toEqual([0x00, 0x00, 0xff, 0xff]);
    expect(await read(reader, frame.subarray(0, -2))).toEqual({ kind: 'partial' });
    expect(await read(reader, frame.subarray(-2))).toEqual({ kind: 'message', text: event(7) });
    const next = server.compress(event(8));
    expect(await read(reader, next.subarray(0, -3))).toEqual({ kind: 'partial' });
    expect(await read(reader, next.subarray(-3, -1))).toEqual({ kind: 'partial' });
    expect(await read(reader, next.subarray(-1))).toEqual({ kind: 'message', text: event(8) });
  });

  it('bounds what it buffers while waiting for the suffix by maxPayload', async () => {
    const reader = client(4 * KiB);
    const frames = framesWithoutMarker(5);
    for (const frame of frames.slice(0, 4)) expect(await read(reader, frame)).toEqual({ kind: 'partial' });
    expect(await read(reader, frames[4])).toEqual({ kind: 'broken', reason: expect.stringMatching(/without its end marker/) });
  });

  it('joins the frames of a message once, when its end marker arrives, not on every frame', async () => {
    const text = event(1, incompressible(40 * KiB));
    const frame = createStreamCompressor('zlib-stream').compress(text);
    const reader = client(256 * KiB);
    const results: Inflated[] = [];
    const joined = await bytesJoinedDuring(async () => {
      for (let at = 0; at < frame.byteLength; at += KiB) results.push(await read(reader, frame.subarray(at, at + KiB)));
    });
    expect(frame.byteLength).toBeGreaterThan(32 * KiB);
    expect(results.at(-1)).toEqual({ kind: 'message', text });
    expect(results.slice(0, -1).every((result) => result.kind === 'partial')).toBe(true);
    // At most one join of the compressed bytes and one of the text: linear in the message, whatever the number of frames.
    expect(joined).toBeLessThanOrEqual(frame.byteLength + text.length);
  });

  it('copies nothing while frames without an end marker pile up, and stops as soon as they pass maxPayload', async () => {
    const reader = client(1024 * KiB);
    const frames = framesWithoutMarker(1025);
    const results: Inflated[] = [];
    const joined = await bytesJoinedDuring(async () => {
      for (const frame of frames.slice(0, 1024)) results.push(reader.push(frame, true));
      results.push(await read(reader, frames[1024]));
    });
    expect(results.slice(0, 1024).every(({ kind }) => kind === (path === 'native' ? 'partial' : 'queued'))).toBe(true);
    expect(results[1024]).toEqual({
      kind: 'broken',
      reason: expect.stringMatching(/grew past maxPayload \(1048576 bytes\) without its end marker/),
    });
    expect(joined).toBe(0);
    expect(await read(reader, frames[0])).toEqual({ kind: 'dropped' });
  });

  it('garbage after a valid message in the same frame breaks the stream', async () => {
    const server = createStreamCompressor('zlib-stream');
    // 0xff starts a deflate block of the reserved type 3: no inflater accepts it.
    const frame = Buffer.concat([server.compress(event(1)), Buffer.alloc(16, 0xff), Buffer.from([0, 0, 0xff, 0xff])]);
    expect(await read(client(), frame)).toEqual({
      kind: 'broken',
      reason: expect.stringMatching(/corrupt compressed stream: invalid block type/),
    });
  });

  it('garbage after the end of a finished stream breaks it', async () => {
    const finished = zlib.deflateSync(event(1));
    const frame = Buffer.concat([finished, Buffer.from('garbage'), Buffer.from([0, 0, 0xff, 0xff])]);
    expect(await read(client(), frame)).toEqual({
      kind: 'broken',
      reason: expect.stringMatching(/garbage after the end of the compressed stream/),
    });
  });
});

describe.each(paths)('zstd-stream framing, %s path', (path) => {
  it('a frame that completes no message (a stray byte, part of a block header) breaks the stream rather than wedge it', async () => {
    if (!zstdAvailable()) return void expect(() => decompressorFor('zstd-stream', 1024, path)).toThrow(/Node ≥ 22\.15 or 24/);
    const server = createStreamCompressor('zstd-stream');
    const client = decompressorFor('zstd-stream', 64 * KiB, path);
    expect((await read(client, server.compress(event(1)))).kind).toBe('message');
    expect(await read(client, Buffer.from([0x06]))).toEqual({ kind: 'broken', reason: 'a frame that completes no message' });
  });
});

describe('the decompression path', () => {
  const base = { url: 'ws://127.0.0.1:1/?v=10', protocol: discordProtocol({ token: 't', intents: 1 }) };
  const available = streams.filter((name) => name === 'zlib-stream' || zstdAvailable());

  it.each(available)('%s takes the native path where node:zlib has its handle', (name) => {
    expect(transportCompression(name, 64 * KiB).path).toBe('native');
  });

  it.each(available)('%s falls back on the public streams where the handle cannot be reached, and reads the stream', async (name) => {
    const restore = hideNativeHandles();
    try {
      const compression = transportCompression(name, 64 * KiB);
      expect(compression.path).toBe('streamed');
      const server = createStreamCompressor(name);
      const client = compression.createDecompressor();
      for (let s = 1; s <= 3; s += 1) expect(await read(client, server.compress(event(s)))).toEqual({ kind: 'message', text: event(s) });
      client.close();
      expect(() => createGateway({ ...base, compression: name })).not.toThrow();
    } finally {
      restore();
    }
    expect(transportCompression(name, 64 * KiB).path).toBe('native');
  });

  it('a Node that can read the stream neither way is a TypeError from createGateway, naming the option', () => {
    decompressionPaths.native = false;
    decompressionPaths.streamed = false;
    try {
      expect(() => createGateway({ ...base, compression: 'zlib-stream' })).toThrow(TypeError);
      expect(() => createGateway({ ...base, compression: 'zlib-stream' })).toThrow(
        /^createGateway: compression 'zlib-stream' cannot be read on Node v[\d.]+: its node:zlib has neither/,
      );
      expect(() => createGateway({ ...base, compression: 'auto' })).toThrow(/createGateway: compression 'zlib-stream' cannot be read/);
      expect(() => createGateway({ ...base, compression: 'none' })).not.toThrow();
    } finally {
      decompressionPaths.native = true;
      decompressionPaths.streamed = true;
    }
  });
});

describe('transport compression', () => {
  it('adds the compress parameter to every URL, keeping the rest of the query', () => {
    const compression = transportCompression('zlib-stream', 1024);
    expect(compression.url('wss://gateway.discord.gg/?v=10&encoding=json')).toBe(
      'wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream',
    );
    expect(withCompressParameter('wss://us-east1-b.gateway.discord.gg', 'zstd-stream')).toBe(
      'wss://us-east1-b.gateway.discord.gg/?compress=zstd-stream',
    );
  });

  it("resolves 'auto' to zstd where node:zlib has it and zlib otherwise; 'none' to nothing", () => {
    expect(resolveCompression('auto')).toBe(zstdAvailable() ? 'zstd-stream' : 'zlib-stream');
    expect(resolveCompression('none')).toBeNull();
    expect(resolveCompression('zlib-stream')).toBe('zlib-stream');
  });

  it('createGateway validates the option and refuses a URL that picks its own stream', () => {
    const base = { url: 'ws://127.0.0.1:1/?v=10', protocol: discordProtocol({ token: 't', intents: 1 }) };
    expect(() => createGateway({ ...base, compression: 'gzip' as never })).toThrow(
      /createGateway: compression must be one of 'zlib-stream', 'zstd-stream', 'auto', 'none', got "gzip"/,
    );
    expect(() => createGateway({ ...base, url: 'ws://127.0.0.1:1/?compress=zlib-stream' })).toThrow(
      /url must not carry a compress parameter: use the compression option/,
    );
  });

  it('gives each socket on a line its own context, freeing the old one when the next opens or the line is sealed', () => {
    const compression = transportCompression('zlib-stream', 64 * KiB);
    const line = new SocketLine();
    const first = line.open(() => new FakeSocket(), compression.createDecompressor) as FakeSocket;
    const firstContext = line.decompressor;
    const server = createStreamCompressor('zlib-stream');
    expect(firstContext?.push(server.compress(event(1)), true).kind).toBe('message');

    first.open();
    first.peerClose(1006);
    expect(first.readyState).toBe(SocketState.CLOSED);
    // No listener of the line's is left on a closed socket but the error sink.
    expect(first.listenerCount('close')).toBe(0);

    line.open(() => new FakeSocket(), compression.createDecompressor);
    expect(firstContext?.push(server.compress(event(2)), true)).toEqual({ kind: 'dropped' });
    const secondContext = line.decompressor;
    expect(secondContext).not.toBe(firstContext);
    // The new connection's server starts a new stream, which only a new context can read.
    expect(secondContext?.push(createStreamCompressor('zlib-stream').compress(event(3)), true)).toEqual({
      kind: 'message',
      text: event(3),
    });
    line.seal();
    expect(secondContext?.push(createStreamCompressor('zlib-stream').compress(event(3)), true)).toEqual({ kind: 'dropped' });
  });

  it('closes the context it made when the socket cannot be created', () => {
    const line = new SocketLine();
    let made: Decompressor | undefined;
    const create = () => (made = new ZlibStreamDecompressor(1024));
    expect(() =>
      line.open(() => {
        throw new Error('no socket');
      }, create),
    ).toThrow('no socket');
    expect(made?.push(Buffer.from([0, 0, 0xff, 0xff]), true)).toEqual({ kind: 'dropped' });
    expect(line.decompressor).toBeUndefined();
  });
});

describe.each(streams)('the socket actor on a %s connection', (name) => {
  if (name === 'zstd-stream' && !zstdAvailable()) {
    it('cannot be configured on this Node', () => {
      expect(() => transportCompression('zstd-stream', 1024).createDecompressor()).toThrow(/Node ≥ 22\.15 or 24/);
    });
    return;
  }
  const token = 'unit-token-c0mpress';
  const harness = () => new SocketActorHarness(token, transportCompression(name, 64 * KiB));

  it('decompresses before decoding: dispatches in order, heartbeat requests answered', () => {
    const h = harness();
    const server = createStreamCompressor(name);
    for (let s = 1; s <= 3; s += 1) expect(h.receive(server.compress(event(s)), true).dispatched.map((d) => d.s)).toEqual([s]);
    const request = h.receive(server.compress(JSON.stringify({ op: 1, d: null })), true);
    expect(request.sent.map((frame) => JSON.parse(frame))).toEqual([{ op: 1, d: 3 }]);
    h.stop();
  });

  it.each([
    ['a corrupt frame', (frame: Buffer) => Buffer.concat([Buffer.alloc(12, 0xff), frame.subarray(12)]), true, /compressed stream: corrupt/],
    ['a text frame', () => event(2), false, /compressed stream: text frame/],
    // From the same server stream: a few KiB on the wire that would inflate to 8 MiB.
    ['a bomb', (_next: Buffer, server: StreamCompressor) => server.compress('1'.repeat(8 * 1024 * KiB)), true, /inflates past maxPayload/],
  ] as const)('%s becomes one protocol error (malformed), and the rest of that stream is dropped', (_what, hostile, binary, reason) => {
    const h = harness();
    const server = createStreamCompressor(name);
    expect(h.receive(server.compress(event(1)), true).dispatched).toHaveLength(1);
    const next = server.compress(event(2));
    const outcome = h.receive(hostile(next, server), binary);
    expect(outcome.events).toEqual([{ type: 'gateway.malformed', generation: 1, reason: expect.stringMatching(reason) }]);
    expect(outcome.errors.map((e) => e.name)).toEqual(['GatewayProtocolError']);
    const after = h.receive(server.compress(event(3)), true);
    expect(after).toEqual({ events: [], errors: [], dispatched: [], sent: [] });
    h.stop();
  });

  it('on the streamed path, the messages that arrived before a close are read before the close is reported', async () => {
    decompressionPaths.native = false;
    const compression = transportCompression(name, 64 * KiB);
    decompressionPaths.native = true;
    expect(compression.path).toBe('streamed');
    const h = new SocketActorHarness(token, compression);
    const order: string[] = [];
    const dispatched = h.dispatched.push.bind(h.dispatched);
    h.dispatched.push = (...payloads) => (order.push(...payloads.map((p) => `dispatch ${p.s}`)), dispatched(...payloads));
    const events = h.events.push.bind(h.events);
    h.events.push = (...sent) => (order.push(...sent.map((e) => e.type)), events(...sent));
    const server = createStreamCompressor(name);
    for (let s = 1; s <= 3; s += 1) h.socket.receive(server.compress(event(s)), true);
    h.socket.peerClose(4000);
    expect(order).toEqual([]);
    await vi.waitFor(() => expect(order).toContain('socket.closed'));
    expect(order).toEqual(['dispatch 1', 'dispatch 2', 'dispatch 3', 'socket.closed']);
    h.stop();
  });

  it('a message that decompresses to something that is not JSON is malformed', () => {
    const h = harness();
    const outcome = h.receive(createStreamCompressor(name).compress('{"op":0,"t":"MESSAGE_CREATE","s":1,"d":{"conte'), true);
    expect(outcome.events).toEqual([{ type: 'gateway.malformed', generation: 1, reason: expect.stringMatching(/invalid JSON/) }]);
    h.stop();
  });
});
