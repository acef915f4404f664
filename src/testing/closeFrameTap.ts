import type { Socket } from 'node:net';

const CLOSE_OPCODE = 0x8;

type DataListener = (this: Socket, chunk: Buffer) => void;

/**
 * Follows WebSocket frame boundaries in the client→server byte stream. Only
 * headers are inspected; payloads are skipped by length, so masking and
 * compression do not matter.
 */
export class FrameBoundaryScanner {
  private partialHeader: Buffer = Buffer.alloc(0);
  private payloadBytesLeft = 0;

  /** Offset in `chunk` where a close frame starts, or -1 if the chunk holds none. */
  findCloseFrame(chunk: Buffer): number {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.payloadBytesLeft > 0) {
        const skipped = Math.min(this.payloadBytesLeft, chunk.length - offset);
        this.payloadBytesLeft -= skipped;
        offset += skipped;
        continue;
      }
      if (this.partialHeader.length === 0 && isCloseFrameStart(chunk[offset])) return offset;
      offset = this.consumeHeader(chunk, offset);
    }
    return -1;
  }

  /** Reads as much of the current header as `chunk` holds; returns the offset after it. */
  private consumeHeader(chunk: Buffer, offset: number): number {
    const available = Buffer.concat([this.partialHeader, chunk.subarray(offset)]);
    const headerLength = frameHeaderLength(available);
    if (headerLength === undefined || available.length < headerLength) {
      this.partialHeader = available;
      return chunk.length;
    }
    const consumedFromChunk = headerLength - this.partialHeader.length;
    this.payloadBytesLeft = payloadLength(available);
    this.partialHeader = Buffer.alloc(0);
    return offset + consumedFromChunk;
  }
}

function isCloseFrameStart(firstByte: number | undefined): boolean {
  return firstByte !== undefined && (firstByte & 0x0f) === CLOSE_OPCODE;
}

function frameHeaderLength(header: Buffer): number | undefined {
  const second = header[1];
  if (second === undefined) return undefined;
  const lengthField = second & 0x7f;
  const extendedLength = lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0;
  const maskKey = second & 0x80 ? 4 : 0;
  return 2 + extendedLength + maskKey;
}

function payloadLength(header: Buffer): number {
  const lengthField = (header[1] ?? 0) & 0x7f;
  if (lengthField === 126) return header.readUInt16BE(2);
  if (lengthField === 127) return Number(header.readBigUInt64BE(2));
  return lengthField;
}

export interface CloseFrameTap {
  /** Stop feeding ws, e.g. after it reported a protocol error and gave up on the stream. */
  stop(): void;
}

/**
 * Puts itself between the raw socket and ws's own 'data' listener so a close
 * frame can be withheld while `shouldSwallowClose()` says so. ws then never
 * learns the client wants to close, never answers, and never ends the socket;
 * because the socket keeps flowing, a client that gives up and destroys its
 * TCP connection is still noticed through 'end'/'close'.
 *
 * Must be installed synchronously in ws's 'connection' handler, before the
 * socket emits its first 'data'.
 */
export function tapCloseFrames(socket: Socket, shouldSwallowClose: () => boolean): CloseFrameTap {
  const wsListeners = socket.listeners('data') as DataListener[];
  for (const listener of wsListeners) socket.removeListener('data', listener);

  const scanner = new FrameBoundaryScanner();
  let forwarding = true;
  const forward = (bytes: Buffer): void => {
    if (bytes.length === 0) return;
    for (const listener of wsListeners) listener.call(socket, bytes);
  };

  socket.on('data', (chunk: Buffer) => {
    if (!forwarding) return;
    const closeAt = scanner.findCloseFrame(chunk);
    if (closeAt === -1) {
      forward(chunk);
      return;
    }
    // ws stops reading after a close frame itself, so nothing past it matters.
    forwarding = false;
    forward(shouldSwallowClose() ? chunk.subarray(0, closeAt) : chunk);
  });

  return {
    stop: () => {
      forwarding = false;
    },
  };
}
