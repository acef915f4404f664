import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { NativeStream, unusedChunkSize } from '../compression/nativeStream.ts';

/**
 * The chaos gateway's side of Discord's transport compression: when a client connects with
 * `compress=zlib-stream` or `compress=zstd-stream`, every frame to it goes through one compressor
 * for the whole connection, flushed after each message, as binary. Compression is synchronous,
 * so frames and faults (a kill, a close) keep the order the test gave them.
 */
export interface StreamCompressor {
  readonly name: 'zlib-stream' | 'zstd-stream';
  compress(message: string | Uint8Array): Buffer;
  close(): void;
}

type ZstdZlib = typeof zlib & { createZstdCompress?: (options?: { chunkSize?: number }) => object };

const unbounded = Number.MAX_SAFE_INTEGER;

/** The compressor a connection asked for in its URL, or none (no parameter, or one this Node cannot do). */
export function compressorFor(request: IncomingMessage): StreamCompressor | undefined {
  const compress = new URL(request.url ?? '/', 'ws://chaos.invalid').searchParams.get('compress');
  if (compress === 'zlib-stream') return createStreamCompressor('zlib-stream');
  if (compress === 'zstd-stream' && (zlib as ZstdZlib).createZstdCompress) return createStreamCompressor('zstd-stream');
  return undefined;
}

/** A server-side stream as Discord sends it; throws a TypeError for zstd on a Node without it. */
export function createStreamCompressor(name: StreamCompressor['name']): StreamCompressor {
  if (name === 'zlib-stream') {
    return nativeCompressor(
      name,
      new NativeStream(zlib.createDeflate({ chunkSize: unusedChunkSize }), zlib.constants.Z_SYNC_FLUSH, unbounded),
    );
  }
  const createZstd = (zlib as ZstdZlib).createZstdCompress;
  if (!createZstd) throw new TypeError(`zstd-stream needs node:zlib zstd (Node ≥ 22.15 or 24); this is Node ${process.version}`);
  const flush = (zlib.constants as Record<string, number>).ZSTD_e_flush ?? 1;
  return nativeCompressor(name, new NativeStream(createZstd({ chunkSize: unusedChunkSize }), flush, unbounded));
}

function nativeCompressor(name: StreamCompressor['name'], stream: NativeStream): StreamCompressor {
  let closed = false;
  return {
    name,
    compress: (message) => stream.writeBytes(typeof message === 'string' ? Buffer.from(message) : message),
    close: () => {
      if (!closed) stream.close();
      closed = true;
    },
  };
}
