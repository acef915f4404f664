import type { Decompressor } from '../src/compression/decompressor.ts';
import { decompressionPaths, transportCompression, zstdAvailable } from '../src/compression/transportCompression.ts';
import { createStreamCompressor } from '../src/testing/streamCompression.ts';
import { GatewaySession } from '../src/testing/session.ts';
import type { BenchCompression, ContenderName } from './contenders/fleet.ts';
import { floodOnce, type Sample } from './dispatch.ts';
import { messageEvents } from './lib/messages.ts';
import type { ClientProcess, GatewayProcess } from './lib/processes.ts';
import { progress, rotated, type Comparison, type PerContender } from './lib/report.ts';
import { median } from './lib/stats.ts';
import { markdownTable, num, times } from './lib/table.ts';

/**
 * Transport compression: what each stream saves on the wire and costs the client. CPU per event
 * is measured as in the dispatch comparison (the client paused, the gateway floods MESSAGE_CREATE
 * events into its socket buffers, the client reads the backlog), once per stream, for lifeline and
 * for @discordjs/ws with its node:zlib inflate (`compression: CompressionMethod.ZlibNative`; 2.x has
 * no zstd). Bytes on the wire come from the chaos gateway's own compressor over the same events.
 */

const floodEvents = 50_000;
const warmupEvents = 10_000;
const rounds = 5;
const wireSampleEvents = 10_000;

interface Variant {
  label: string;
  contender: Extract<ContenderName, 'lifeline' | '@discordjs/ws'>;
  compression?: BenchCompression;
}

/** Bytes one WebSocket frame of `payload` bytes takes, server to client (no mask), header included. */
function frameBytes(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65_536 ? 4 : 10);
}

/** Bytes per event on the wire for a stream of MESSAGE_CREATE events, framed as the chaos gateway frames them. */
function wireBytesPerEvent(compression?: BenchCompression): { payload: number; wire: number } {
  const session = new GatewaySession(wireSampleEvents + 1);
  const compressor = compression ? createStreamCompressor(compression) : undefined;
  const next = messageEvents();
  let payload = 0;
  let wire = 0;
  for (let i = 0; i < wireSampleEvents; i++) {
    const text = JSON.stringify(session.append('MESSAGE_CREATE', next(i)));
    const size = compressor ? compressor.compress(text).byteLength : Buffer.byteLength(text);
    payload += size;
    wire += frameBytes(size);
  }
  compressor?.close();
  return { payload: payload / wireSampleEvents, wire: wire / wireSampleEvents };
}

/** Milliseconds of this process's CPU (user + system) that `body` takes, timers and thread pool included. */
async function cpuMs(body: () => Promise<void> | void): Promise<number> {
  const before = process.cpuUsage();
  await body();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1_000;
}

/** A new context on `path` for `name`, as createGateway would make it. */
function contextOn(path: 'native' | 'streamed', name: BenchCompression, maxPayload: number): Decompressor {
  decompressionPaths.native = path === 'native';
  try {
    return transportCompression(name, maxPayload).createDecompressor();
  } finally {
    decompressionPaths.native = true;
  }
}

/** Feeds frames and resolves once every outcome is in: at once on the native path, after the thread pool on the streamed. */
function feed(context: Decompressor, frames: Iterable<Uint8Array>): Promise<number> {
  let messages = 0;
  context.listen((outcome) => void (outcome.kind === 'message' && messages++));
  for (const frame of frames) if (context.push(frame, true).kind === 'message') messages++;
  return new Promise((resolve) => context.whenSettled(() => resolve(messages)));
}

/**
 * In-process figures of the decompressors themselves: a long zlib-stream message cut into 1 KiB
 * frames (the cost must stay linear in its size), and the price of the fallback on node:zlib's
 * public streams against the native path, per MESSAGE_CREATE event.
 */
export async function decompressorFigures(): Promise<string[]> {
  const MiB = 1024 * 1024;
  const cut = (bytes: Buffer, size: number) =>
    Array.from({ length: Math.ceil(bytes.byteLength / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  const lines: string[] = [];

  // 8 MiB of a message that never reaches its end marker, in 1 KiB frames, up to the maxPayload stop.
  const stored = Buffer.alloc(1024 - 5, 0x55);
  const block = Buffer.concat([
    Buffer.from([0x00, stored.length & 0xff, stored.length >> 8, ~stored.length & 0xff, (~stored.length >> 8) & 0xff]),
    stored,
  ]);
  const endless = [Buffer.concat([Buffer.from([0x78, 0x01]), block]), ...Array.from({ length: 8 * 1024 }, () => block)];
  for (const path of ['native', 'streamed'] as const) {
    const context = contextOn(path, 'zlib-stream', 8 * MiB);
    const ms = await cpuMs(() => feed(context, endless).then(() => undefined));
    lines.push(
      `zlib-stream, ${path} path: 8 MiB in 1 KiB frames without an end marker, to the maxPayload (8 MiB) stop: ${num(ms, 0)} ms of CPU.`,
    );
  }

  // One message of about 3 MiB on the wire (incompressible text), in 1 KiB frames, read whole.
  const random = Buffer.alloc(3 * MiB);
  for (let i = 0, x = 0x2545f491; i < random.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    random[i] = x & 0xff;
  }
  const longText = JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s: 1, d: { content: random.toString('base64') } });
  const longFrame = createStreamCompressor('zlib-stream').compress(longText);
  for (const path of ['native', 'streamed'] as const) {
    const context = contextOn(path, 'zlib-stream', 16 * MiB);
    let read = 0;
    const ms = await cpuMs(async () => void (read = await feed(context, cut(longFrame, 1024))));
    if (read !== 1) throw new Error(`the ${path} path read ${read} messages from one`);
    lines.push(
      `zlib-stream, ${path} path: one message of ${num(longFrame.byteLength / MiB, 1)} MiB on the wire in 1 KiB frames, read whole: ${num(ms, 0)} ms of CPU.`,
    );
    context.close();
  }

  // The fallback's price: the same MESSAGE_CREATE events through one context per path.
  const names: BenchCompression[] = zstdAvailable() ? ['zlib-stream', 'zstd-stream'] : ['zlib-stream'];
  for (const name of names) {
    const session = new GatewaySession(wireSampleEvents + 1);
    const next = messageEvents();
    const compressor = createStreamCompressor(name);
    const frames = Array.from({ length: wireSampleEvents }, (_, i) =>
      compressor.compress(JSON.stringify(session.append('MESSAGE_CREATE', next(i)))),
    );
    compressor.close();
    const perEvent: Record<string, number> = {};
    for (const path of ['native', 'streamed'] as const) {
      const context = contextOn(path, name, 16 * MiB);
      perEvent[path] = ((await cpuMs(() => feed(context, frames).then(() => undefined))) * 1_000) / frames.length;
      context.close();
    }
    lines.push(
      `${name}: ${num(perEvent.native!, 2)} µs of CPU per MESSAGE_CREATE event on the native path, ${num(perEvent.streamed!, 2)} µs on the streamed fallback (${times(perEvent.streamed! / perEvent.native!)}), ${num(wireSampleEvents)} events through one context.`,
    );
  }
  return lines;
}

export async function runCompression(gateway: GatewayProcess, clients: PerContender<ClientProcess>): Promise<Comparison> {
  const zstd = zstdAvailable();
  const variants: Variant[] = [
    { label: 'lifeline, none', contender: 'lifeline' },
    { label: 'lifeline, zlib-stream', contender: 'lifeline', compression: 'zlib-stream' },
    ...(zstd ? [{ label: 'lifeline, zstd-stream', contender: 'lifeline', compression: 'zstd-stream' } as const] : []),
    { label: '@discordjs/ws, none', contender: '@discordjs/ws' },
    { label: '@discordjs/ws, zlib-stream (node:zlib)', contender: '@discordjs/ws', compression: 'zlib-stream' },
  ];
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
  for (const v of variants) await floodOnce(gateway, clients[v.contender], 'message', warmupEvents, v.compression, true);
  for (let round = 0; round < rounds; round++) {
    for (const v of rotated(variants, round)) {
      progress(`compression: round ${round + 1}/${rounds}, ${v.label}`);
      samples.get(v.label)!.push(await floodOnce(gateway, clients[v.contender], 'message', floodEvents, v.compression, true));
    }
  }

  const wire = {
    none: wireBytesPerEvent(),
    'zlib-stream': wireBytesPerEvent('zlib-stream'),
    ...(zstd ? { 'zstd-stream': wireBytesPerEvent('zstd-stream') } : {}),
  };
  const bytesOf = (v: Variant) => wire[v.compression ?? 'none']!;
  const cpu = (label: string) => median(samples.get(label)!.map((s) => s.cpuUsPerEvent));
  // Within-round ratios, then the median: the variants run back to back in every round.
  const ratio = (label: string, base: string) =>
    median(samples.get(label)!.map((s, round) => s.cpuUsPerEvent / samples.get(base)![round]!.cpuUsPerEvent));

  const table = markdownTable(
    ['contender, stream', 'bytes/event on the wire', 'compression ratio', 'client CPU µs/event', 'CPU vs lifeline, none', 'events/s'],
    variants.map((v) => [
      v.label,
      num(bytesOf(v).wire, 0),
      v.compression ? times(wire.none.wire / bytesOf(v).wire) : '1.00×',
      num(cpu(v.label), 2),
      times(ratio(v.label, 'lifeline, none')),
      num(median(samples.get(v.label)!.map((s) => s.eventsPerSecond))),
    ]),
  );

  const zlibVsDiscord = ratio('lifeline, zlib-stream', '@discordjs/ws, zlib-stream (node:zlib)');
  const targets: Comparison['targets'] = [
    {
      target: 'compression CPU: lifeline zlib-stream ≤ @discordjs/ws zlib-stream (node:zlib)',
      measured: `${num(cpu('lifeline, zlib-stream'), 2)} vs ${num(cpu('@discordjs/ws, zlib-stream (node:zlib)'), 2)} µs (${times(zlibVsDiscord)})`,
      met: zlibVsDiscord <= 1,
    },
  ];
  if (zstd) {
    const zstdVsZlib = ratio('lifeline, zstd-stream', 'lifeline, zlib-stream');
    targets.push({
      target: 'compression CPU: lifeline zstd-stream ≤ zlib-stream',
      measured: `${num(cpu('lifeline, zstd-stream'), 2)} vs ${num(cpu('lifeline, zlib-stream'), 2)} µs (${times(zstdVsZlib)})`,
      met: zstdVsZlib <= 1,
    });
  }

  return {
    title: 'Transport compression, MESSAGE_CREATE-sized events',
    method:
      `${num(floodEvents)} MESSAGE_CREATE events (about 1 KB of JSON each, every one different as in a busy guild: ids, ` +
      'authors, channels, content; see bench/lib/messages.ts) flooded while the client is paused, then read as ' +
      `fast as the client can, per contender and stream; client CPU (user + system) per event, medians of ${rounds} rounds ` +
      'after a warm-up, ratios taken within each round. Bytes on the wire: WebSocket frames (payload and header, TCP/IP not ' +
      `counted) of ${num(wireSampleEvents)} such events through the chaos gateway's compressor, one stream from the first event, ` +
      'as Discord sends them (zlib: one deflate context, a sync flush per message; zstd: one zstd stream, flushed per message).',
    table,
    notes: [
      ...(await decompressorFigures()),
      zstd
        ? `zstd-stream measured on Node ${process.version} (node:zlib zstd).`
        : `zstd-stream not measured: Node ${process.version} has no node:zlib zstd (Node ≥ 22.15 or 24); run \`npm run bench -- compression\` there for it.`,
    ],
    targets,
  };
}
