/**
 * What the socket's owner asks of a compressed stream: one frame in, and either a whole message
 * out, nothing yet (the frame was part of a message), or the reason the stream is broken.
 */
export type Inflated =
  | { kind: 'message'; text: string }
  | { kind: 'partial' }
  | { kind: 'broken'; reason: string }
  /** a frame after the stream broke: the connection is being replaced, there is nothing to read */
  | { kind: 'dropped' };

export interface Decompressor {
  push(data: unknown, isBinary: boolean): Inflated;
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
