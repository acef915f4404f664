import { WebSocket, type RawData } from 'ws';
import type { GatewayFrame } from './protocol.ts';
import type { StreamCompressor } from './streamCompression.ts';

/** 'stalled' means a handshake arrived but its READY/RESUMED is being withheld. */
export type HandshakePhase = 'awaiting-handshake' | 'stalled' | 'ready';

export interface ClientConnection {
  readonly id: number;
  readonly socket: WebSocket;
  phase: HandshakePhase;
  sessionId: string | undefined;
  /** the server started the close, so its code says nothing about the client giving up */
  closedByServer?: boolean;
  /** set when the client asked for a compressed stream (`compress` in its URL) */
  compressor?: StreamCompressor;
}

export function isOpen(connection: ClientConnection): boolean {
  return connection.socket.readyState === WebSocket.OPEN;
}

/** Frames to a socket that is already going away are dropped, as on a real network. */
export function send(connection: ClientConnection, frame: GatewayFrame): void {
  if (!isOpen(connection)) return;
  const text = JSON.stringify(frame);
  connection.socket.send(connection.compressor ? connection.compressor.compress(text) : text);
}

export function whenClosed(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

export function rawDataToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
