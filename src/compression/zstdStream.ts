import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { bytesOf, type Decompressor, type Inflated } from './decompressor.ts';
import { DecompressionError, NativeStream, unusedChunkSize } from './nativeStream.ts';

type ZstdZlib = typeof zlib & {
  createZstdDecompress?: (options?: {
    chunkSize?: number;
    params?: Record<number, number>;
  }) => Transform & { readonly bytesWritten: number };
};

export const zstd = zlib as ZstdZlib;

/** node:zlib has zstd from Node 22.15 and 24. */
export function zstdAvailable(): boolean {
  return typeof zstd.createZstdDecompress === 'function';
}

/**
 * The largest window a server may ask for. 8 MiB is what the zstd format asks every decoder to
 * support (encoders stay within it); beyond that, up to maxPayload, and never past zstd's own
 * default limit of 128 MiB.
 */
function windowLogFor(maxPayload: number): number {
  return Math.min(27, Math.max(23, Math.ceil(Math.log2(maxPayload))));
}

/** The decoder's parameters for a connection whose messages are bounded by `maxPayload`. */
export function zstdDecoderParams(maxPayload: number): Record<number, number> {
  const windowLogMax = (zlib.constants as Record<string, number>).ZSTD_d_windowLogMax ?? 100;
  return { [windowLogMax]: windowLogFor(maxPayload) };
}

/**
 * Discord's `zstd-stream`: one zstd stream for the whole connection, flushed after each message,
 * so each frame decompresses to one whole message. Unlike zlib-stream there is no end marker to
 * wait for, so a frame that yields nothing is broken: waiting for more would let a stray byte or
 * two (part of a block header) wedge the stream while frames keep arriving. The window a server
 * may ask for is bounded by `maxPayload`.
 */
export class ZstdStreamDecompressor implements Decompressor {
  readonly #stream: NativeStream;
  #done = false;

  constructor(maxPayload: number) {
    if (!zstd.createZstdDecompress) {
      throw new TypeError(`zstd-stream needs node:zlib zstd (Node ≥ 22.15 or 24); this is Node ${process.version}`);
    }
    const stream = zstd.createZstdDecompress({ chunkSize: unusedChunkSize, params: zstdDecoderParams(maxPayload) });
    this.#stream = new NativeStream(stream, (zlib.constants as Record<string, number>).ZSTD_e_continue ?? 0, maxPayload);
  }

  push(data: unknown, isBinary: boolean): Inflated {
    if (this.#done) return { kind: 'dropped' };
    if (!isBinary) return this.#fail('text frame on a zstd-stream connection');
    const bytes = bytesOf(data);
    if (!bytes) return this.#fail('frame of an unknown type on a zstd-stream connection');
    let text: string;
    try {
      text = this.#stream.writeText(bytes);
    } catch (error) {
      return this.#fail(error instanceof DecompressionError ? error.message : `zstd failed: ${String(error)}`);
    }
    return text === '' ? this.#fail('a frame that completes no message') : { kind: 'message', text };
  }

  /** Every outcome is returned by `push`: nothing is ever queued. */
  listen(): void {}

  whenSettled(then: () => void): void {
    then();
  }

  close(): void {
    if (this.#done) return;
    this.#done = true;
    this.#stream.close();
  }

  #fail(reason: string): Inflated {
    this.close();
    return { kind: 'broken', reason };
  }
}
