import type { Decompressor } from '../compression/decompressor.ts';
import { SocketState, type WebSocketLike } from '../types.ts';

/** Raised when something asks for a socket while an earlier one is still live. */
export class SecondSocketRefused extends Error {
  override readonly name = 'SecondSocketRefused';
}

/** Raised when something asks for a socket after shutdown began. */
export class LineSealed extends Error {
  override readonly name = 'LineSealed';
}

const swallowLateErrors = (): void => {};

/**
 * The one place a gateway's socket lives. It enforces the engine's central guarantee at the I/O
 * boundary, independently of the statechart: a new socket is created only when the previous one
 * has reached CLOSED, and never after shutdown began. Every socket gets an error sink for its
 * whole life, so an `error` emitted after its listeners were detached cannot crash the process.
 */
export class SocketLine {
  #socket: WebSocketLike | undefined;
  #decompressor: Decompressor | undefined;
  #sealed = false;
  #opened = 0;
  #framesReceived = 0;
  #progressFrames = 0;

  get socket(): WebSocketLike | undefined {
    return this.#socket;
  }

  /** True while the current socket is connecting, open or closing. */
  get isLive(): boolean {
    return this.#socket !== undefined && this.#socket.readyState !== SocketState.CLOSED;
  }

  /**
   * The current socket's decompression context, on a compressed transport. It is kept with the
   * socket on the line, so that the next socket's opening (or shutdown) frees it even when the
   * socket's actor has already stopped.
   */
  get decompressor(): Decompressor | undefined {
    return this.#decompressor;
  }

  get sealed(): boolean {
    return this.#sealed;
  }

  /** Frames received on this line's sockets: the heartbeat's proof of life. */
  get framesReceived(): number {
    return this.#framesReceived;
  }

  /**
   * Frames received other than heartbeat ACKs: what proves that a handshake is getting somewhere (a
   * server that only ACKs heartbeats while never answering RESUME is not).
   */
  get progressFrames(): number {
    return this.#progressFrames;
  }

  /** Counts a frame; `progress` is false for a heartbeat ACK. */
  noteFrame(progress = true): void {
    this.#framesReceived += 1;
    if (progress) this.#progressFrames += 1;
  }

  /** Sockets opened on this line so far. */
  get opened(): number {
    return this.#opened;
  }

  /**
   * Opens the next socket. On a compressed transport, `createDecompressor` gives it a context of
   * its own: a new socket never reads with the previous one's, which is freed here. (Not on the
   * old socket's `close`: a listener for that would stay on a socket that never closes.)
   */
  open(create: () => WebSocketLike, createDecompressor?: () => Decompressor): WebSocketLike {
    if (this.#sealed) throw new LineSealed('shutdown has begun: no new socket is opened');
    if (this.isLive) {
      throw new SecondSocketRefused(
        `the previous socket is still live (readyState ${this.#socket?.readyState}); refusing to open a second one`,
      );
    }
    this.#decompressor?.close();
    this.#decompressor = undefined;
    const decompressor = createDecompressor?.();
    let socket: WebSocketLike;
    try {
      socket = create();
    } catch (error) {
      decompressor?.close();
      throw error;
    }
    socket.on('error', swallowLateErrors);
    this.#decompressor = decompressor;
    this.#socket = socket;
    this.#opened += 1;
    return socket;
  }

  /** After this, `open` refuses: shutdown is final even if a late event tries to reconnect. */
  seal(): void {
    this.#sealed = true;
    // Nothing reads the socket after shutdown began: its drain only waits for it to close.
    this.#decompressor?.close();
  }

  toJSON(): { live: boolean; sealed: boolean; opened: number } {
    return { live: this.isLive, sealed: this.#sealed, opened: this.#opened };
  }
}
