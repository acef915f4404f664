import WebSocket from 'ws';
import type { CreateSocket, WebSocketLike } from '../types.ts';

/** Discord's own limit on a frame is far below this; anything larger is hostile or broken. */
export const defaultMaxPayload = 16 * 1024 * 1024;

export interface WsSocketOptions {
  /** the largest frame accepted from the server, in bytes; a larger one closes the socket (1009) */
  maxPayload?: number;
}

/** The default socket: a `ws` client with a bounded payload size and no per-message compression. */
export function wsSocketFactory(options: WsSocketOptions = {}): CreateSocket {
  return (url) =>
    new WebSocket(url, {
      maxPayload: options.maxPayload ?? defaultMaxPayload,
      perMessageDeflate: false,
    }) as unknown as WebSocketLike;
}
