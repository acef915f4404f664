import type { Decompressor } from './decompressor.ts';
import { ZlibStreamDecompressor } from './zlibStream.ts';
import { ZstdStreamDecompressor, zstdAvailable } from './zstdStream.ts';

/** Compressed streams a Discord gateway speaks (its `compress` query parameter). */
export type StreamCompression = 'zlib-stream' | 'zstd-stream';

/** The `compression` option: a stream, `auto` (zstd where node:zlib has it, zlib otherwise), or `none`. */
export type CompressionOption = StreamCompression | 'auto' | 'none';

export const compressionOptions: readonly CompressionOption[] = ['zlib-stream', 'zstd-stream', 'auto', 'none'];

export { zstdAvailable };

/**
 * The stream an option asks for on this Node, or null for none. Asking for zstd where node:zlib
 * has none is a TypeError that names the Node needed.
 */
export function resolveCompression(option: CompressionOption): StreamCompression | null {
  if (option === 'none') return null;
  if (option === 'auto') return zstdAvailable() ? 'zstd-stream' : 'zlib-stream';
  if (option === 'zstd-stream' && !zstdAvailable()) {
    throw new TypeError(
      `compression 'zstd-stream' needs node:zlib zstd, in Node ≥ 22.15 or 24; this is Node ${process.version}. ` +
        `Use 'zlib-stream', or 'auto' for zstd where it is available`,
    );
  }
  return option;
}

/**
 * How a gateway's sockets are compressed: the `compress` parameter on every URL it connects to
 * (main and resume URLs alike) and a new decompression context for each socket.
 */
export interface TransportCompression {
  readonly name: StreamCompression;
  url(url: string): string;
  createDecompressor: () => Decompressor;
}

export function transportCompression(name: StreamCompression, maxPayload: number): TransportCompression {
  return {
    name,
    url: (url) => withCompressParameter(url, name),
    createDecompressor: () => (name === 'zlib-stream' ? new ZlibStreamDecompressor(maxPayload) : new ZstdStreamDecompressor(maxPayload)),
  };
}

export function withCompressParameter(url: string, name: StreamCompression): string {
  const parsed = new URL(url);
  parsed.searchParams.set('compress', name);
  return parsed.toString();
}
