import { SocketState, type WebSocketLike } from '../../src/types.ts';

type EventName = 'open' | 'message' | 'close' | 'error';
type Listener = (...args: never[]) => void;

/**
 * What a fake socket does when the engine asks it to close:
 * - `closes`: it reaches CLOSED and emits `close` at once (a cooperative peer);
 * - `hangs`: it stays CLOSING until the test calls `finishClose()`.
 */
export type CloseBehaviour = 'closes' | 'hangs';

export interface FakeSocketBehaviour {
  onClose: CloseBehaviour;
  onTerminate: CloseBehaviour;
  /** when set, `close()` throws this instead of closing */
  closeThrows?: Error;
}

export const cooperative: FakeSocketBehaviour = { onClose: 'closes', onTerminate: 'closes' };

export type SocketCall = { method: 'close'; code: number | undefined } | { method: 'terminate' };

/**
 * A WebSocketLike the test drives: it records what the engine does to it (`calls`, `sent`) and the
 * listeners attached to it, and lets the test play the network (`open`, `receive`, `peerClose`).
 * Like an EventEmitter, emitting `error` with no listener throws, so a missing error sink shows up.
 */
export class FakeSocket implements WebSocketLike {
  readyState: number = SocketState.CONNECTING;
  readonly sent: string[] = [];
  readonly calls: SocketCall[] = [];
  readonly #listeners = new Map<EventName, Listener[]>();

  constructor(
    readonly url: string = 'wss://gateway.example/',
    public behaviour: FakeSocketBehaviour = cooperative,
  ) {}

  // --- the engine's side -------------------------------------------------------------------

  send(data: string, done?: (error?: Error) => void): void {
    if (this.readyState !== SocketState.OPEN) throw new Error(`send() on a socket in readyState ${this.readyState}`);
    this.sent.push(data);
    // Like `ws`, the write is confirmed asynchronously.
    if (done) queueMicrotask(() => done());
  }

  close(code?: number): void {
    this.calls.push({ method: 'close', code });
    if (this.behaviour.closeThrows) throw this.behaviour.closeThrows;
    if (this.readyState === SocketState.CLOSED || this.readyState === SocketState.CLOSING) return;
    const wasConnecting = this.readyState === SocketState.CONNECTING;
    this.readyState = SocketState.CLOSING;
    if (this.behaviour.onClose === 'hangs') return;
    // `ws` aborts a handshake in progress with an error, then a 1006 close.
    if (wasConnecting) {
      this.emitError(new Error('WebSocket was closed before the connection was established'));
      this.finishClose(1006);
    } else {
      this.finishClose(code ?? 1005);
    }
  }

  terminate(): void {
    this.calls.push({ method: 'terminate' });
    if (this.readyState === SocketState.CLOSED) return;
    this.readyState = SocketState.CLOSING;
    if (this.behaviour.onTerminate === 'closes') this.finishClose(1006);
  }

  on(event: EventName, listener: Listener): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }

  off(event: EventName, listener: Listener): this {
    const list = this.#listeners.get(event) ?? [];
    const index = list.indexOf(listener);
    if (index >= 0) this.#listeners.set(event, [...list.slice(0, index), ...list.slice(index + 1)]);
    return this;
  }

  // --- the test's side ---------------------------------------------------------------------

  get isLive(): boolean {
    return this.readyState !== SocketState.CLOSED;
  }

  listenerCount(event: EventName): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  listenerCounts(): Record<EventName, number> {
    return {
      open: this.listenerCount('open'),
      message: this.listenerCount('message'),
      close: this.listenerCount('close'),
      error: this.listenerCount('error'),
    };
  }

  /** The handshake completes. */
  open(): void {
    this.readyState = SocketState.OPEN;
    this.#emit('open');
  }

  /** A text frame arrives; objects are sent as JSON. */
  receive(frame: unknown, isBinary = false): void {
    this.#emit('message', typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame), isBinary);
  }

  /** The peer (or the network) closes the connection. */
  peerClose(code: number, reason = ''): void {
    this.finishClose(code, reason);
  }

  /** The close handshake ends: CLOSED, then `close`. */
  finishClose(code = 1006, reason = ''): void {
    this.readyState = SocketState.CLOSED;
    this.#emit('close', code, Buffer.from(reason));
  }

  emitError(error: Error): void {
    if (this.listenerCount('error') === 0) throw error;
    this.#emit('error', error);
  }

  /** Frames the engine sent, parsed. */
  sentFrames(): Array<{ op: number; d: unknown }> {
    return this.sent.map((text) => JSON.parse(text) as { op: number; d: unknown });
  }

  sentOps(): number[] {
    return this.sentFrames().map((frame) => frame.op);
  }

  #emit(event: EventName, ...args: unknown[]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) (listener as (...a: unknown[]) => void)(...args);
  }
}

/**
 * Builds fake sockets for `createSocket` and checks the engine's central guarantee at the moment
 * it matters: when a socket is created, no earlier socket may still be live.
 */
export class FakeSocketFactory {
  readonly sockets: FakeSocket[] = [];
  /** one entry per creation that happened while another socket was live */
  readonly violations: string[] = [];
  /** behaviour of the sockets created from now on */
  behaviour: FakeSocketBehaviour = cooperative;

  /** when set, the next creation throws this (as `new WebSocket` does for a bad URL) */
  failNext: Error | undefined;

  readonly create = (url: string): FakeSocket => {
    const failure = this.failNext;
    if (failure) {
      this.failNext = undefined;
      throw failure;
    }
    const live = this.sockets.filter((socket) => socket.isLive);
    if (live.length > 0) {
      this.violations.push(
        `socket #${this.sockets.length + 1} created while #${live.map((s) => this.sockets.indexOf(s) + 1).join(', #')} live`,
      );
    }
    const socket = new FakeSocket(url, { ...this.behaviour });
    this.sockets.push(socket);
    return socket;
  };

  get latest(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no socket has been created yet');
    return socket;
  }

  get liveCount(): number {
    return this.sockets.filter((socket) => socket.isLive).length;
  }
}
