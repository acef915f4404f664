import WebSocket from 'ws';
import type { WebSocketLike } from '../../src/types.ts';

export interface TrackedSocket {
  socket: WebSocket;
  /** ignores close() and terminate(): the engine can never see it close */
  deaf: boolean;
  terminateCalled: boolean;
}

/**
 * Real `ws` sockets for the engine, seen through a proxy: it records the most sockets live (not
 * CLOSED) when one was created, shows each frame the engine writes to `onSend` at the moment it is
 * written, and can make sockets deaf to close() and terminate().
 */
export class RealSocketTracker {
  readonly sockets: TrackedSocket[] = [];
  maxLive = 0;
  /** sockets created from now on are deaf */
  deaf = false;

  constructor(private readonly onSend: (socketIndex: number, frame: { op: number; d: unknown }) => void) {}

  readonly createSocket = (url: string): WebSocketLike => {
    const live = this.sockets.filter(({ socket }) => socket.readyState !== WebSocket.CLOSED).length + 1;
    this.maxLive = Math.max(this.maxLive, live);
    const entry: TrackedSocket = { socket: new WebSocket(url, { perMessageDeflate: false }), deaf: this.deaf, terminateCalled: false };
    const index = this.sockets.push(entry);
    const send = (data: string, done?: (error?: Error) => void) => {
      entry.socket.send(data, done);
      this.onSend(index, JSON.parse(data) as { op: number; d: unknown });
    };
    const close = (code?: number, reason?: string) => {
      if (!entry.deaf) entry.socket.close(code, reason);
    };
    const terminate = () => {
      entry.terminateCalled = true;
      if (!entry.deaf) entry.socket.terminate();
    };
    return new Proxy(entry.socket, {
      get(target, property) {
        if (property === 'send') return send;
        if (property === 'close') return close;
        if (property === 'terminate') return terminate;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };

  /** Really closes everything, deaf sockets included, so no schedule leaves a handle open. */
  async destroyAll(): Promise<void> {
    const closing = this.sockets
      .filter(({ socket }) => socket.readyState !== WebSocket.CLOSED)
      .map(({ socket }) => new Promise((resolve) => socket.once('close', resolve)));
    for (const { socket } of this.sockets) socket.terminate();
    await Promise.all(closing);
  }
}

/** Real timers for the statechart, counted, so that a test can see none is left after the end. */
export class CountingClock {
  readonly pending = new Set<NodeJS.Timeout>();

  setTimeout(fn: (...args: unknown[]) => void, ms: number): NodeJS.Timeout {
    const handle = setTimeout(() => {
      this.pending.delete(handle);
      fn();
    }, ms);
    this.pending.add(handle);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    clearTimeout(handle as NodeJS.Timeout);
    this.pending.delete(handle as NodeJS.Timeout);
  }
}
