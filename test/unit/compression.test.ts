import zlib from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { createGateway } from '../../src/api/createGateway.ts';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import type { Decompressor } from '../../src/compression/decompressor.ts';
import {
  resolveCompression,
  transportCompression,
  withCompressParameter,
  zstdAvailable,
  type StreamCompression,
} from '../../src/compression/transportCompression.ts';
import { ZlibStreamDecompressor } from '../../src/compression/zlibStream.ts';
import { ZstdStreamDecompressor } from '../../src/compression/zstdStream.ts';
import { SocketLine } from '../../src/connection/socketLine.ts';
import { createStreamCompressor, type StreamCompressor } from '../../src/testing/streamCompression.ts';
import { SocketState } from '../../src/types.ts';
import { SocketActorHarness } from '../fuzz/socketHarness.ts';
import { FakeSocket } from '../support/fakeSocket.ts';

const KiB = 1024;
const event = (s: number, content = `message number ${s}, `.repeat(20)) =>
  JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s, d: { id: String(1e17 + s), channel_id: '42', content } });

function decompressorFor(name: StreamCompression, maxPayload = 64 * KiB): Decompressor {
  return name === 'zlib-stream' ? new ZlibStreamDecompressor(maxPayload) : new ZstdStreamDecompressor(maxPayload);
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
function bytesJoinedDuring(body: () => void): number {
  const concat = vi.spyOn(Buffer, 'concat');
  try {
    body();
    return concat.mock.results.reduce((sum, result) => sum + (result.type === 'return' ? (result.value as Buffer).byteLength : 0), 0);
  } finally {
    concat.mockRestore();
  }
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

describe.each(streams)('%s decompressor', (name) => {
  if (name === 'zstd-stream' && !zstdAvailable()) {
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

  it('reads many messages through one context, later ones built on earlier ones', () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name);
    const sizes: number[] = [];
    for (let s = 1; s <= 50; s += 1) {
      const frame = server.compress(event(s));
      sizes.push(frame.byteLength);
      expect(client.push(frame, true)).toEqual({ kind: 'message', text: event(s) });
    }
    // The shared history is what makes later frames small: a fresh context could not read them.
    expect(sizes.at(-1)).toBeLessThan((sizes[0] ?? 0) / 2);
    const late = server.compress(event(51));
    expect(decompressorFor(name).push(late, true).kind).toBe('broken');
  });

  it('keeps a message larger than one output pass whole', () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name, 1024 * KiB);
    const large = event(1, 'x'.repeat(200 * KiB) + 'é'.repeat(40 * KiB));
    expect(client.push(server.compress(large), true)).toEqual({ kind: 'message', text: large });
  });

  it('stops a decompression bomb at maxPayload, and the stream stays broken', () => {
    const client = decompressorFor(name, 256 * KiB);
    const bomb =
      name === 'zlib-stream' ? zlibBomb(64 * 1024 * KiB) : createStreamCompressor('zstd-stream').compress('0'.repeat(64 * 1024 * KiB));
    expect(bomb.byteLength).toBeLessThan(128 * KiB);
    const before = process.memoryUsage().arrayBuffers;
    const result = client.push(bomb, true);
    expect(result).toEqual({ kind: 'broken', reason: expect.stringMatching(/inflates past maxPayload \(262144 bytes\)/) });
    // 64 MiB were never produced: at most the bound and one output pass.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * KiB);
    expect(client.push(createStreamCompressor(name).compress(event(1)), true)).toEqual({ kind: 'dropped' });
  });

  it('a message of exactly maxPayload passes; one byte more is a bomb', () => {
    const text = event(1);
    const exact = decompressorFor(name, Buffer.byteLength(text));
    expect(exact.push(createStreamCompressor(name).compress(text), true)).toEqual({ kind: 'message', text });
    const under = decompressorFor(name, Buffer.byteLength(text) - 1);
    expect(under.push(createStreamCompressor(name).compress(text), true).kind).toBe('broken');
  });

  it('a corrupt stream is broken, with the reason', () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name);
    expect(client.push(server.compress(event(1)), true).kind).toBe('message');
    const frame = Buffer.from(server.compress(event(2)));
    frame.fill(0xff, 0, Math.min(8, frame.byteLength - 4));
    expect(client.push(frame, true)).toEqual({ kind: 'broken', reason: expect.stringMatching(/corrupt compressed stream/) });
  });

  it('a truncated message is never delivered as the message', () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name);
    expect(client.push(server.compress(event(1)), true).kind).toBe('message');
    const frame = server.compress(event(2, 'a message long enough to cut '.repeat(10)));
    const half = frame.subarray(0, Math.floor(frame.byteLength / 2));
    const truncated = name === 'zlib-stream' ? Buffer.concat([half, Buffer.from([0, 0, 0xff, 0xff])]) : half;
    const result = client.push(truncated, true);
    // Either the decompressor sees the damage, or the text is a cut-off message the decoder rejects.
    if (result.kind === 'message') expect(() => JSON.parse(result.text)).toThrow();
    else expect(result.kind).toBe('broken');
  });

  it('a text frame on a compressed stream is broken', () => {
    const client = decompressorFor(name);
    expect(client.push(event(1), false)).toEqual({ kind: 'broken', reason: `text frame on a ${name} connection` });
    expect(client.push(createStreamCompressor(name).compress(event(1)), true)).toEqual({ kind: 'dropped' });
  });

  it('a frame of an unknown type is broken', () => {
    expect(decompressorFor(name).push({ not: 'bytes' }, true).kind).toBe('broken');
  });

  it('reads frames delivered as an ArrayBuffer or a list of buffers', () => {
    const server = createStreamCompressor(name);
    const client = decompressorFor(name);
    const first = server.compress(event(1));
    const arrayBuffer = first.buffer.slice(first.byteOffset, first.byteOffset + first.byteLength);
    expect(client.push(arrayBuffer, true)).toEqual({ kind: 'message', text: event(1) });
    const second = server.compress(event(2));
    expect(client.push([second.subarray(0, 3), second.subarray(3)], true)).toEqual({ kind: 'message', text: event(2) });
  });

  it('close() frees the context; later frames are dropped', () => {
    const client = decompressorFor(name);
    client.close();
    client.close();
    expect(client.push(createStreamCompressor(name).compress(event(1)), true)).toEqual({ kind: 'dropped' });
  });
});

describe('zlib-stream framing', () => {
  it('buffers a message split over frames until its sync-flush suffix arrives', () => {
    const frame = createStreamCompressor('zlib-stream').compress(event(1, 'spread over frames '.repeat(200)));
    const client = new ZlibStreamDecompressor(64 * KiB);
    const third = Math.floor(frame.byteLength / 3);
    expect(client.push(frame.subarray(0, third), true)).toEqual({ kind: 'partial' });
    expect(client.push(frame.subarray(third, 2 * third), true)).toEqual({ kind: 'partial' });
    expect(client.push(frame.subarray(2 * third), true)).toEqual({ kind: 'message', text: event(1, 'spread over frames '.repeat(200)) });
  });

  it('finds the suffix when it is split across two frames', () => {
    const frame = createStreamCompressor('zlib-stream').compress(event(7));
    expect([...frame.subarray(-4)]).toEqual([0x00, 0x00, 0xff, 0xff]);
    const client = new ZlibStreamDecompressor(64 * KiB);
    expect(client.push(frame.subarray(0, -2), true)).toEqual({ kind: 'partial' });
    expect(client.push(frame.subarray(-2), true)).toEqual({ kind: 'message', text: event(7) });
  });

  it('bounds what it buffers while waiting for the suffix by maxPayload', () => {
    const client = new ZlibStreamDecompressor(4 * KiB);
    const noSuffix = Buffer.alloc(1024, 0x55);
    for (let i = 0; i < 4; i += 1) expect(client.push(noSuffix, true)).toEqual({ kind: 'partial' });
    expect(client.push(noSuffix, true)).toEqual({ kind: 'broken', reason: expect.stringMatching(/without its end marker/) });
  });

  it('joins the frames of a message once, when its end marker arrives, not on every frame', () => {
    const text = event(1, incompressible(40 * KiB));
    const frame = createStreamCompressor('zlib-stream').compress(text);
    const client = new ZlibStreamDecompressor(256 * KiB);
    const results: unknown[] = [];
    const joined = bytesJoinedDuring(() => {
      for (let at = 0; at < frame.byteLength; at += KiB) results.push(client.push(frame.subarray(at, at + KiB), true));
    });
    expect(frame.byteLength).toBeGreaterThan(32 * KiB);
    expect(results.at(-1)).toEqual({ kind: 'message', text });
    expect(results.slice(0, -1).every((result) => (result as { kind: string }).kind === 'partial')).toBe(true);
    // One join of the compressed bytes: linear in the message, whatever the number of frames.
    expect(joined).toBeLessThanOrEqual(frame.byteLength);
  });

  it('copies nothing while frames without an end marker pile up, and stops as soon as they pass maxPayload', () => {
    const client = new ZlibStreamDecompressor(1024 * KiB);
    const noSuffix = Buffer.alloc(KiB, 0x55);
    const results: string[] = [];
    const joined = bytesJoinedDuring(() => {
      for (let i = 0; i <= 1024; i += 1) results.push(client.push(noSuffix, true).kind);
    });
    expect(results.slice(0, 1024).every((kind) => kind === 'partial')).toBe(true);
    expect(results[1024]).toBe('broken');
    expect(joined).toBe(0);
    expect(client.push(noSuffix, true)).toEqual({ kind: 'dropped' });
  });

  it('garbage after a valid message in the same frame breaks the stream', () => {
    const server = createStreamCompressor('zlib-stream');
    const client = new ZlibStreamDecompressor(64 * KiB);
    // 0xff starts a deflate block of the reserved type 3: no inflater accepts it.
    const frame = Buffer.concat([server.compress(event(1)), Buffer.alloc(16, 0xff), Buffer.from([0, 0, 0xff, 0xff])]);
    expect(client.push(frame, true)).toEqual({
      kind: 'broken',
      reason: expect.stringMatching(/corrupt compressed stream: invalid block type/),
    });
  });

  it('garbage after the end of a finished stream breaks it', () => {
    const client = new ZlibStreamDecompressor(64 * KiB);
    const finished = zlib.deflateSync(event(1));
    const frame = Buffer.concat([finished, Buffer.from('garbage'), Buffer.from([0, 0, 0xff, 0xff])]);
    expect(client.push(frame, true)).toEqual({
      kind: 'broken',
      reason: expect.stringMatching(/garbage after the end of the compressed stream/),
    });
  });
});

describe('zstd-stream framing', () => {
  it('a frame that completes no message (a stray byte, part of a block header) breaks the stream rather than wedge it', () => {
    if (!zstdAvailable()) return void expect(() => new ZstdStreamDecompressor(1024)).toThrow(/Node ≥ 22\.15 or 24/);
    const server = createStreamCompressor('zstd-stream');
    const client = new ZstdStreamDecompressor(64 * KiB);
    expect(client.push(server.compress(event(1)), true).kind).toBe('message');
    expect(client.push(Buffer.from([0x06]), true)).toEqual({ kind: 'broken', reason: 'a frame that completes no message' });
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

  it('a message that decompresses to something that is not JSON is malformed', () => {
    const h = harness();
    const outcome = h.receive(createStreamCompressor(name).compress('{"op":0,"t":"MESSAGE_CREATE","s":1,"d":{"conte'), true);
    expect(outcome.events).toEqual([{ type: 'gateway.malformed', generation: 1, reason: expect.stringMatching(/invalid JSON/) }]);
    h.stop();
  });
});
