import zlib from 'node:zlib';
import { bytesOf, type Decompressor, type Inflated } from './decompressor.ts';
import { DecompressionError, NativeStream, unusedChunkSize } from './nativeStream.ts';

const syncFlushSuffix = [0x00, 0x00, 0xff, 0xff] as const;

function endsWithSyncFlush(bytes: Uint8Array): boolean {
  const n = bytes.byteLength;
  return (
    n >= 4 &&
    bytes[n - 4] === syncFlushSuffix[0] &&
    bytes[n - 3] === syncFlushSuffix[1] &&
    bytes[n - 2] === syncFlushSuffix[2] &&
    bytes[n - 1] === syncFlushSuffix[3]
  );
}

/**
 * Discord's `zlib-stream`: one zlib context for the whole connection, each message ending with
 * the sync-flush marker `00 00 ff ff`. Frames before the marker are kept until it arrives (the
 * marker itself may be split across frames), bounded by `maxPayload` like the inflated message.
 */
export class ZlibStreamDecompressor implements Decompressor {
  readonly #stream: NativeStream;
  readonly #maxPayload: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #done = false;

  constructor(maxPayload: number) {
    this.#maxPayload = maxPayload;
    this.#stream = new NativeStream(zlib.createInflate({ chunkSize: unusedChunkSize }), zlib.constants.Z_SYNC_FLUSH, maxPayload);
  }

  push(data: unknown, isBinary: boolean): Inflated {
    if (this.#done) return { kind: 'dropped' };
    if (!isBinary) return this.#fail('text frame on a zlib-stream connection');
    const bytes = bytesOf(data);
    if (!bytes) return this.#fail('frame of an unknown type on a zlib-stream connection');
    this.#pendingBytes += bytes.byteLength;
    if (this.#pendingBytes > this.#maxPayload) {
      return this.#fail(`a compressed message grew past maxPayload (${this.#maxPayload} bytes) without its end marker`);
    }
    let message: Uint8Array;
    if (this.#pending.length === 0) {
      if (!endsWithSyncFlush(bytes)) {
        this.#pending.push(bytes);
        return { kind: 'partial' };
      }
      message = bytes;
    } else {
      this.#pending.push(bytes);
      const joined = Buffer.concat(this.#pending, this.#pendingBytes);
      // Checked on the joined bytes: the marker may straddle two frames.
      if (!endsWithSyncFlush(joined)) {
        this.#pending = [joined];
        return { kind: 'partial' };
      }
      message = joined;
      this.#pending = [];
    }
    this.#pendingBytes = 0;
    let text: string;
    try {
      text = this.#stream.writeText(message);
    } catch (error) {
      return this.#fail(error instanceof DecompressionError ? error.message : `inflate failed: ${String(error)}`);
    }
    // A sync flush with nothing before it carries no message: there is nothing to read.
    return text === '' ? { kind: 'partial' } : { kind: 'message', text };
  }

  close(): void {
    if (this.#done) return;
    this.#done = true;
    this.#pending = [];
    this.#stream.close();
  }

  #fail(reason: string): Inflated {
    this.close();
    return { kind: 'broken', reason };
  }
}
