/**
 * A node:zlib context (inflate or zstd; the chaos gateway's deflate too) driven synchronously, message by message, that keeps its
 * state between messages. node:zlib offers no public call for that: `inflateSync` starts a new
 * context each time, and the stream's synchronous `_processChunk` closes its handle after one
 * chunk. So this drives the stream's native handle with the same `writeSync` call node:zlib's
 * own synchronous path makes, in a loop that stops as soon as the output passes its bound.
 */

import { isUtf8 } from 'node:buffer';

/** The native handle under a node:zlib stream, as node:zlib itself calls it. */
interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    out: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  close(): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

interface StreamInternals {
  _handle?: NativeHandle | null;
  _writeState?: Uint32Array;
}

/** What went wrong in a compressed stream: always the server's fault, never a crash. */
export class DecompressionError extends Error {
  override readonly name = 'DecompressionError';
}

/**
 * One output buffer for every context in the process: a message is inflated in one synchronous
 * call and copied out before the next can start, so a connection holds no output buffer of its own.
 */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** node:zlib's smallest chunk size: the stream object's own output buffer is never used here. */
export const unusedChunkSize = 64;

export class NativeStream {
  readonly #handle: NativeHandle;
  readonly #state: Uint32Array;
  readonly #flush: number;
  readonly #maxOutput: number;
  #error: string | undefined;

  /**
   * `stream` is a freshly made node:zlib stream (createInflate, createZstdDecompress); only its
   * native handle is kept. `maxOutput` bounds what one call may produce, in bytes.
   */
  constructor(stream: object, flush: number, maxOutput: number) {
    const internals = stream as StreamInternals;
    const handle = internals._handle;
    const state = internals._writeState;
    if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array)) {
      throw new TypeError(`this Node (${process.version}) has a node:zlib without the synchronous handle it needs`);
    }
    this.#handle = handle;
    this.#state = state;
    this.#flush = flush;
    this.#maxOutput = maxOutput;
    // The stream's own handler would destroy the stream object; here the error is read right
    // after the call that raised it.
    handle.onerror = (message) => {
      this.#error = message;
    };
  }

  /**
   * Feeds `input` and returns everything it decompresses to, as UTF-8 text. Throws a
   * DecompressionError for a corrupt stream, for output past the bound (the rest is never
   * produced), and for input left over after the stream ended.
   */
  writeText(input: Uint8Array): string {
    const produced = this.#run(input);
    const chunks = this.#chunks;
    let bytes = scratch.subarray(0, produced);
    if (chunks) {
      this.#chunks = undefined;
      chunks.push(bytes);
      bytes = Buffer.concat(chunks);
    }
    // As `ws` does for a text frame: invalid UTF-8 is refused, not read with replacement characters.
    if (!isUtf8(bytes)) throw new DecompressionError('a message that is not valid UTF-8');
    return bytes.toString();
  }

  /** As `writeText`, for output that is not text (a compressor's). */
  writeBytes(input: Uint8Array): Buffer {
    const produced = this.#run(input);
    const chunks = this.#chunks;
    if (!chunks) return Buffer.from(scratch.subarray(0, produced));
    this.#chunks = undefined;
    chunks.push(scratch.subarray(0, produced));
    return Buffer.concat(chunks);
  }

  /** Output of earlier passes of the current call, when one pass did not hold it all. */
  #chunks: Buffer[] | undefined;

  /** Runs the context over `input`; returns the bytes of the last pass, left in `scratch`. */
  #run(input: Uint8Array): number {
    const handle = this.#handle;
    const state = this.#state;
    let inOffset = 0;
    let inLength = input.byteLength;
    let total = 0;
    this.#chunks = undefined;
    for (;;) {
      handle.writeSync(this.#flush, input, inOffset, inLength, scratch, 0, scratch.length);
      if (this.#error !== undefined) throw new DecompressionError(`corrupt compressed stream: ${this.#error}`);
      const outLeft = state[0] ?? 0;
      const inLeft = state[1] ?? 0;
      const produced = scratch.length - outLeft;
      total += produced;
      if (total > this.#maxOutput) {
        this.#chunks = undefined;
        throw new DecompressionError(`a message inflates past maxPayload (${this.#maxOutput} bytes); stopped there`);
      }
      if (outLeft === 0) {
        // The output buffer is full: there may be more. Keep a copy and go on.
        (this.#chunks ??= []).push(Buffer.from(scratch.subarray(0, produced)));
        inOffset += inLength - inLeft;
        inLength = inLeft;
        continue;
      }
      // Room was left and input was not taken: the stream has ended and this is something else.
      if (inLeft > 0) throw new DecompressionError(`${inLeft} bytes of garbage after the end of the compressed stream`);
      return produced;
    }
  }

  /** Frees the native context at once rather than at garbage collection. */
  close(): void {
    this.#handle.close();
  }
}
