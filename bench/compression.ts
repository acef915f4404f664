import { zstdAvailable } from '../src/compression/transportCompression.ts';
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
      zstd
        ? `zstd-stream measured on Node ${process.version} (node:zlib zstd).`
        : `zstd-stream not measured: Node ${process.version} has no node:zlib zstd (Node ≥ 22.15 or 24); run \`npm run bench -- compression\` there for it.`,
    ],
    targets,
  };
}
