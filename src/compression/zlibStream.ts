import zlib from 'node:zlib';
import { bytesOf, type Decompressor, type Inflated } from './decompressor.ts';
import { DecompressionError, NativeStream, unusedChunkSize } from './nativeStream.ts';

export const syncFlushSuffix = [0x00, 0x00, 0xff, 0xff] as const;

/**
 * Whether the frames of a message so far end with the marker, read from the last frames back: the
 * marker may straddle frames, and joining them to look would copy the whole message each time.
 */
export function endsWithSyncFlush(frames: readonly Uint8Array[]): boolean {
  let matched = 0;
  for (let f = frames.length - 1; f >= 0 && matched < syncFlushSuffix.length; f -= 1) {
    const frame = frames[f]!;
    for (let i = frame.byteLength - 1; i >= 0 && matched < syncFlushSuffix.length; i -= 1) {
      if (frame[i] !== syncFlushSuffix[syncFlushSuffix.length - 1 - matched]) return false;
      matched += 1;
    }
  }
  return matched === syncFlushSuffix.length;
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
    this.#pending.push(bytes);
    if (!endsWithSyncFlush(this.#pending)) return { kind: 'partial' };
    // Joined once, when the message is whole: a message of n frames costs one copy, not n.
    const message = this.#pending.length === 1 ? bytes : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
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

  /** Every outcome is returned by `push`: nothing is ever queued. */
  listen(): void {}

  whenSettled(then: () => void): void {
    then();
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
