import WebSocket from 'ws';
import type { WebSocketLike } from '../../src/types.ts';

/**
 * Real `ws` sockets whose `close` event can be lost: while `lossy`, close() does nothing and
 * terminate() really ends the connection, but the engine never hears `close`, so its drain fails
 * closed. The connection itself is gone (readyState CLOSED), which is what lets a supervisor
 * restart without a second socket. `maxLive` counts sockets not yet CLOSED at each creation.
 */
export class LossyCloseSockets {
  readonly sockets: WebSocket[] = [];
  lossy = false;
  maxLive = 0;

  readonly createSocket = (url: string): WebSocketLike => {
    const live = this.sockets.filter((s) => s.readyState !== WebSocket.CLOSED).length + 1;
    this.maxLive = Math.max(this.maxLive, live);
    const socket = new WebSocket(url, { perMessageDeflate: false });
    this.sockets.push(socket);
    if (!this.lossy) return socket;
    return new Proxy(socket, {
      get(target, property) {
        if (property === 'close') return () => {};
        if (property === 'on' || property === 'off') {
          return (event: string, listener: (...args: unknown[]) => void) =>
            event === 'close' ? target : target[property](event, listener);
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };

  destroyAll(): void {
    for (const socket of this.sockets) socket.terminate();
  }
}
