/**
 * What the socket's owner asks of a compressed stream: one frame in, and either a whole message
 * out, nothing yet (the frame was part of a message), or the reason the stream is broken. A
 * context that inflates off the main thread answers `queued` instead, and the outcome follows.
 */
export type Inflated =
  | { kind: 'message'; text: string }
  | { kind: 'partial' }
  | { kind: 'broken'; reason: string }
  /** a frame after the stream broke: the connection is being replaced, there is nothing to read */
  | { kind: 'dropped' }
  /** the frame was taken; its outcome (a message or the break, if any) goes to the listener later */
  | { kind: 'queued' };

/** An outcome that reaches the listener: a queued frame's message, or the break. */
export type LateOutcome = Extract<Inflated, { kind: 'message' } | { kind: 'broken' }>;

export interface Decompressor {
  push(data: unknown, isBinary: boolean): Inflated;
  /**
   * Where the outcomes of queued frames go, in the order of the frames. Set by the socket's owner
   * before the first frame; a context that never queues never calls it.
   */
  listen(listener: (outcome: LateOutcome) => void): void;
  /**
   * Runs `then` once every frame pushed so far has had its outcome, or the context closed; at once
   * when nothing is queued. The socket's owner waits for it before it reports the socket's close,
   * so that messages that arrived before the close are read before it.
   */
  whenSettled(then: () => void): void;
  /** frees the context; later frames are dropped */
  close(): void;
}

/** The bytes of a binary frame as `ws` (or a socket standing in for it) delivers them. */
export function bytesOf(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data) && data.every((chunk) => chunk instanceof Uint8Array)) return Buffer.concat(data);
  return null;
}
