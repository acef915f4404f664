import zlib from 'node:zlib';
import type { Decompressor } from './decompressor.ts';
import { StreamedZlibDecompressor, StreamedZstdDecompressor } from './streamedContext.ts';
import { ZlibStreamDecompressor } from './zlibStream.ts';
import { ZstdStreamDecompressor, zstd, zstdAvailable } from './zstdStream.ts';

/** Compressed streams a Discord gateway speaks (its `compress` query parameter). */
export type StreamCompression = 'zlib-stream' | 'zstd-stream';

/** The `compression` option: a stream, `auto` (zstd where node:zlib has it, zlib otherwise), or `none`. */
export type CompressionOption = StreamCompression | 'auto' | 'none';

export const compressionOptions: readonly CompressionOption[] = ['zlib-stream', 'zstd-stream', 'auto', 'none'];

export { zstdAvailable };

/**
 * How a connection's context runs. `native` drives node:zlib's native handle synchronously, a
 * message per call (the fast path, on every Node that has the handle); `streamed` uses node:zlib's
 * public streams, which inflate on the thread pool and deliver later (where the handle is missing).
 */
export type DecompressionPath = 'native' | 'streamed';

/**
 * The paths this process may choose from. Only tests change it: turning `native` off runs the
 * streamed path on a Node that has both.
 */
export const decompressionPaths: Record<DecompressionPath, boolean> = { native: true, streamed: true };

/**
 * Whether the native path reads a known message on this Node, per factory of node:zlib streams: a
 * message through the very decompressor a connection would get, so a Node whose internals moved is
 * found out here, once, rather than at every connect.
 */
const nativeWorks = new WeakMap<object, boolean>();

function nativePathWorks(name: StreamCompression): boolean {
  const factory = name === 'zlib-stream' ? zlib.createInflate : zstd.createZstdDecompress;
  if (!factory) return false;
  let works = nativeWorks.get(factory);
  if (works === undefined) {
    works = readsKnownMessage(name);
    nativeWorks.set(factory, works);
  }
  return works;
}

function readsKnownMessage(name: StreamCompression): boolean {
  const text = 'lifeline';
  let context: Decompressor | undefined;
  try {
    const compressSync = (zlib as { zstdCompressSync?: (input: string) => Buffer }).zstdCompressSync;
    const frame = name === 'zlib-stream' ? zlib.deflateSync(text, { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : compressSync?.(text);
    if (!frame) return false;
    context = name === 'zlib-stream' ? new ZlibStreamDecompressor(1024) : new ZstdStreamDecompressor(1024);
    const read = context.push(frame, true);
    return read.kind === 'message' && read.text === text;
  } catch {
    return false;
  } finally {
    context?.close();
  }
}

function streamedPathExists(name: StreamCompression): boolean {
  return name === 'zlib-stream' ? typeof zlib.createInflate === 'function' : zstdAvailable();
}

/** The path a new connection's context takes on this Node, or null when neither can run. */
export function decompressionPath(name: StreamCompression): DecompressionPath | null {
  if (decompressionPaths.native && nativePathWorks(name)) return 'native';
  if (decompressionPaths.streamed && streamedPathExists(name)) return 'streamed';
  return null;
}

/**
 * The stream an option asks for on this Node, or null for none. Asking for zstd where node:zlib
 * has none is a TypeError that names the Node needed, and so is a stream this Node cannot read at all.
 */
export function resolveCompression(option: CompressionOption): StreamCompression | null {
  if (option === 'none') return null;
  const name = option === 'auto' ? (zstdAvailable() && decompressionPath('zstd-stream') ? 'zstd-stream' : 'zlib-stream') : option;
  pathFor(name);
  return name;
}

/** The path for a stream on this Node, or a TypeError that says why there is none. */
function pathFor(name: StreamCompression): DecompressionPath {
  if (name === 'zstd-stream' && !zstdAvailable()) {
    throw new TypeError(
      `compression 'zstd-stream' needs node:zlib zstd, in Node ≥ 22.15 or 24; this is Node ${process.version}. ` +
        `Use 'zlib-stream', or 'auto' for zstd where it is available`,
    );
  }
  const path = decompressionPath(name);
  if (path === null) {
    throw new TypeError(
      `compression '${name}' cannot be read on Node ${process.version}: its node:zlib has neither the native handle ` +
        `of the fast path nor the public streams of the fallback. Use 'none'`,
    );
  }
  return path;
}

/**
 * How a gateway's sockets are compressed: the `compress` parameter on every URL it connects to
 * (main and resume URLs alike) and a new decompression context for each socket.
 */
export interface TransportCompression {
  readonly name: StreamCompression;
  /** chosen once, when the gateway is made */
  readonly path: DecompressionPath;
  url(url: string): string;
  createDecompressor: () => Decompressor;
}

export function transportCompression(name: StreamCompression, maxPayload: number): TransportCompression {
  const path = pathFor(name);
  return {
    name,
    path,
    url: (url) => withCompressParameter(url, name),
    createDecompressor: contextFactory(name, path, maxPayload),
  };
}

function contextFactory(name: StreamCompression, path: DecompressionPath, maxPayload: number): () => Decompressor {
  if (name === 'zlib-stream') {
    return path === 'native' ? () => new ZlibStreamDecompressor(maxPayload) : () => new StreamedZlibDecompressor(maxPayload);
  }
  return path === 'native' ? () => new ZstdStreamDecompressor(maxPayload) : () => new StreamedZstdDecompressor(maxPayload);
}

export function withCompressParameter(url: string, name: StreamCompression): string {
  const parsed = new URL(url);
  parsed.searchParams.set('compress', name);
  return parsed.toString();
}
