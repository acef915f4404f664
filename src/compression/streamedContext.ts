/**
 * A decompression context on node:zlib's public streaming interface: the way to read a compressed
 * transport on a Node whose node:zlib does not have the native handle NativeStream drives. The
 * stream inflates on libuv's thread pool, so outcomes come after `push` returns, through the
 * listener, in the order of the frames.
 */

import { isUtf8 } from 'node:buffer';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { bytesOf, type Decompressor, type Inflated, type LateOutcome } from './decompressor.ts';
import { endsWithSyncFlush, syncFlushSuffix } from './zlibStream.ts';
import { zstd, zstdDecoderParams } from './zstdStream.ts';

/** A node:zlib stream: `bytesWritten` counts the input it has consumed. */
type ZlibStream = Transform & { readonly bytesWritten: number };

/** One frame's place in line: its outcome once the stream has read it (`partial` for none). */
interface Slot {
  outcome: LateOutcome | { kind: 'partial' } | undefined;
}

const queued: Inflated = { kind: 'queued' };
const dropped: Inflated = { kind: 'dropped' };
const ignoreLateErrors = (): void => {};

/**
 * Every frame written to the stream takes a slot in line. A stream's write callback comes after
 * the output of that write and before the next write's, so the output collected when a callback
 * runs is exactly what that frame produced; a failure (a stream error, output past the bound,
 * input left over) belongs to the first slot still waiting. Outcomes leave the line in order, and
 * a break ends it: what comes after is dropped, as on the synchronous path.
 */
abstract class StreamedContext implements Decompressor {
  readonly #stream: ZlibStream;
  readonly #maxOutput: number;
  readonly #line: Slot[] = [];
  #listener: (outcome: LateOutcome) => void = () => {};
  #settled: (() => void)[] = [];
  #output: Buffer[] = [];
  #outputBytes = 0;
  /** bytes given to the stream so far, to compare with what it consumed */
  #written = 0;
  /** no frame is taken any more: a break is in line, or the context closed */
  #refusing = false;
  /** the stream is destroyed: nothing more comes out of it */
  #streamEnded = false;
  #closed = false;

  constructor(stream: ZlibStream, maxOutput: number) {
    this.#stream = stream;
    this.#maxOutput = maxOutput;
    stream.on('data', (chunk: Buffer) => this.#collect(chunk));
    stream.on('error', (error: Error) => this.#failAtHead(`corrupt compressed stream: ${error.message}`));
  }

  abstract push(data: unknown, isBinary: boolean): Inflated;

  /** What a frame that completes a message with no text means for this stream. */
  protected abstract emptyMessage(): LateOutcome | { kind: 'partial' };

  listen(listener: (outcome: LateOutcome) => void): void {
    this.#listener = listener;
  }

  whenSettled(then: () => void): void {
    if (this.#line.length === 0 || this.#closed) then();
    else this.#settled.push(then);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#refusing = true;
    this.#line.length = 0;
    this.#endStream();
    // Whoever waits (a socket's owner, to report its close) must hear of it, outside the caller's stack.
    const waiting = this.#settled;
    this.#settled = [];
    if (waiting.length) queueMicrotask(() => waiting.forEach((then) => then()));
  }

  protected get refusing(): boolean {
    return this.#refusing;
  }

  /** Writes one frame; `completesMessage`: the output so far, this frame's included, is a message. */
  protected write(bytes: Uint8Array, completesMessage: boolean): Inflated {
    const slot: Slot = { outcome: undefined };
    this.#line.push(slot);
    this.#written += bytes.byteLength;
    const written = this.#written;
    this.#stream.write(bytes, () => this.#afterWrite(slot, written, completesMessage));
    return queued;
  }

  /** Puts the break in line behind the frames already written; later frames are dropped. */
  protected refuse(reason: string): Inflated {
    this.#refusing = true;
    this.#line.push({ outcome: { kind: 'broken', reason } });
    this.#deliver();
    return queued;
  }

  #collect(chunk: Buffer): void {
    if (this.#streamEnded) return;
    this.#outputBytes += chunk.byteLength;
    if (this.#outputBytes > this.#maxOutput) {
      return this.#failAtHead(`a message inflates past maxPayload (${this.#maxOutput} bytes); stopped there`);
    }
    this.#output.push(chunk);
  }

  #afterWrite(slot: Slot, written: number, completesMessage: boolean): void {
    if (this.#streamEnded) return;
    // Output the stream buffered rather than emitted belongs to this write too.
    while (this.#stream.readableLength > 0 && this.#stream.read() !== null);
    if (this.#streamEnded) return;
    const leftOver = written - this.#stream.bytesWritten;
    // Input it did not take: the compressed stream ended, and this is something else.
    if (leftOver > 0) return this.#failAtHead(`${leftOver} bytes of garbage after the end of the compressed stream`);
    slot.outcome = completesMessage ? this.#message() : { kind: 'partial' };
    this.#deliver();
  }

  #message(): LateOutcome | { kind: 'partial' } {
    const output = this.#output;
    const bytes = output.length === 1 ? output[0]! : Buffer.concat(output, this.#outputBytes);
    this.#output = [];
    this.#outputBytes = 0;
    if (bytes.byteLength === 0) return this.emptyMessage();
    // As `ws` does for a text frame: invalid UTF-8 is refused, not read with replacement characters.
    if (!isUtf8(bytes)) return { kind: 'broken', reason: 'a message that is not valid UTF-8' };
    return { kind: 'message', text: bytes.toString() };
  }

  /** The stream failed on the frame it was reading: the first slot still waiting breaks. */
  #failAtHead(reason: string): void {
    if (this.#streamEnded) return;
    this.#endStream();
    this.#refusing = true;
    const head = this.#line.findIndex((slot) => slot.outcome === undefined);
    const broken = { kind: 'broken', reason } as const;
    if (head === -1) this.#line.push({ outcome: broken });
    else {
      this.#line.length = head + 1;
      this.#line[head]!.outcome = broken;
    }
    this.#deliver();
  }

  #deliver(): void {
    while (this.#line.length > 0 && !this.#closed) {
      const outcome = this.#line[0]!.outcome;
      if (outcome === undefined) return;
      this.#line.shift();
      if (outcome.kind === 'partial') continue;
      if (outcome.kind === 'broken') {
        this.close();
        this.#listener(outcome);
        return;
      }
      this.#listener(outcome);
    }
    if (this.#line.length === 0 && this.#settled.length > 0) {
      const waiting = this.#settled;
      this.#settled = [];
      for (const then of waiting) then();
    }
  }

  #endStream(): void {
    if (this.#streamEnded) return;
    this.#streamEnded = true;
    this.#output = [];
    this.#stream.on('error', ignoreLateErrors);
    this.#stream.destroy();
  }
}

/**
 * zlib-stream on node:zlib's public Inflate: each frame is written as it comes (nothing is joined),
 * and the frame that ends with the sync-flush marker completes the message. As on the synchronous
 * path, the compressed bytes of one message are bounded by `maxPayload` like its text.
 */
export class StreamedZlibDecompressor extends StreamedContext {
  readonly #maxPayload: number;
  #pendingBytes = 0;
  /** the last bytes of the message so far, enough to see a marker that straddles frames */
  #tail: Uint8Array = new Uint8Array(0);

  constructor(maxPayload: number) {
    super(zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH }), maxPayload);
    this.#maxPayload = maxPayload;
  }

  push(data: unknown, isBinary: boolean): Inflated {
    if (this.refusing) return dropped;
    if (!isBinary) return this.refuse('text frame on a zlib-stream connection');
    const bytes = bytesOf(data);
    if (!bytes) return this.refuse('frame of an unknown type on a zlib-stream connection');
    this.#pendingBytes += bytes.byteLength;
    if (this.#pendingBytes > this.#maxPayload) {
      return this.refuse(`a compressed message grew past maxPayload (${this.#maxPayload} bytes) without its end marker`);
    }
    const ends = endsWithSyncFlush([this.#tail, bytes]);
    if (ends) {
      this.#pendingBytes = 0;
      this.#tail = new Uint8Array(0);
    } else this.#tail = lastBytes(this.#tail, bytes, syncFlushSuffix.length - 1);
    return this.write(bytes, ends);
  }

  /** A sync flush with nothing before it carries no message: there is nothing to read. */
  protected emptyMessage(): { kind: 'partial' } {
    return { kind: 'partial' };
  }
}

/**
 * zstd-stream on node:zlib's public ZstdDecompress: each frame is one whole message, and a frame
 * that yields nothing is broken, as on the synchronous path.
 */
export class StreamedZstdDecompressor extends StreamedContext {
  constructor(maxPayload: number) {
    if (!zstd.createZstdDecompress) {
      throw new TypeError(`zstd-stream needs node:zlib zstd (Node ≥ 22.15 or 24); this is Node ${process.version}`);
    }
    super(zstd.createZstdDecompress({ params: zstdDecoderParams(maxPayload) }), maxPayload);
  }

  push(data: unknown, isBinary: boolean): Inflated {
    if (this.refusing) return dropped;
    if (!isBinary) return this.refuse('text frame on a zstd-stream connection');
    const bytes = bytesOf(data);
    if (!bytes) return this.refuse('frame of an unknown type on a zstd-stream connection');
    return this.write(bytes, true);
  }

  protected emptyMessage(): LateOutcome {
    return { kind: 'broken', reason: 'a frame that completes no message' };
  }
}

/** The last `count` bytes of `earlier` followed by `later`, copied (a few bytes). */
function lastBytes(earlier: Uint8Array, later: Uint8Array, count: number): Uint8Array {
  if (later.byteLength >= count) return later.slice(later.byteLength - count);
  const joined = new Uint8Array(earlier.byteLength + later.byteLength);
  joined.set(earlier);
  joined.set(later, earlier.byteLength);
  return joined.slice(Math.max(0, joined.byteLength - count));
}
