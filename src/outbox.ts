/**
 * User payloads on their way to the gateway. Every payload ends in exactly one of two ways: its
 * promise resolves once the socket has written it, or rejects with a reason (too large, queue full,
 * session replaced, gateway stopped). Nothing is dropped without a word.
 *
 * Discord allows 120 sends per connection per 60 s. User payloads get that budget minus a reserve,
 * so heartbeats, IDENTIFY and RESUME (which the engine sends directly) always fit.
 */

export interface OutboxOptions {
  /** payloads held while the gateway is not ready; more are refused */
  maxQueued: number;
  /** largest encoded payload, in bytes (Discord refuses frames over 4096) */
  maxPayloadBytes: number;
  /** sends per connection per window, the engine's own included */
  sendsPerWindow: number;
  /** of those, kept for heartbeats, IDENTIFY and RESUME */
  reservedSends: number;
  windowMs: number;
}

export type OutboxErrorCode = 'PAYLOAD_TOO_LARGE' | 'QUEUE_FULL' | 'SESSION_RESET' | 'STOPPED' | 'FAILED' | 'SEND_FAILED';

export class OutboxError extends Error {
  override readonly name = 'OutboxError';
  constructor(
    readonly code: OutboxErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface OutboxTransport {
  /**
   * Writes `data` on the ready socket and calls `done` when written, with an error when it failed,
   * or with `retry` when it was not written at all; returns false when nothing is ready.
   */
  write(data: string, done: (error?: Error, retry?: boolean) => void): boolean;
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface Entry {
  /** order of enqueueing, kept when an entry comes back to the queue */
  order: number;
  data: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class Outbox {
  #queue: Entry[] = [];
  #sentAt: number[] = [];
  #open = false;
  #timer: unknown;
  #closedWith: OutboxError | undefined;
  #nextOrder = 0;

  constructor(
    private readonly options: OutboxOptions,
    private readonly transport: OutboxTransport,
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  enqueue(data: string): Promise<void> {
    if (this.#closedWith) {
      return Promise.reject(new OutboxError(this.#closedWith.code, this.#closedWith.message));
    }
    const bytes = Buffer.byteLength(data);
    if (bytes > this.options.maxPayloadBytes) {
      return Promise.reject(
        new OutboxError('PAYLOAD_TOO_LARGE', `payload is ${bytes} bytes; the limit is ${this.options.maxPayloadBytes}`),
      );
    }
    if (this.#queue.length >= this.options.maxQueued) {
      return Promise.reject(
        new OutboxError('QUEUE_FULL', `${this.#queue.length} payloads are already waiting (maxQueued ${this.options.maxQueued})`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ order: this.#nextOrder++, data, resolve, reject });
      this.#flush();
    });
  }

  /** A connection became ready: it has a fresh send budget. */
  open(): void {
    this.#open = true;
    this.#sentAt = [];
    this.#flush();
  }

  /** The connection went away but the session may resume: keep what is queued. */
  pause(): void {
    this.#open = false;
    this.#cancelTimer();
  }

  /** The gateway has ended: everything queued now and everything sent later is refused with `error`. */
  close(error: OutboxError): void {
    this.#closedWith = error;
    this.rejectAll(error);
  }

  /** Rejects everything queued: the session it belonged to is gone, or the gateway is. */
  rejectAll(error: OutboxError): void {
    this.pause();
    const queue = this.#queue;
    this.#queue = [];
    for (const entry of queue) entry.reject(error);
  }

  #budget(): number {
    const since = this.transport.now() - this.options.windowMs;
    while (this.#sentAt.length > 0 && this.#sentAt[0]! <= since) this.#sentAt.shift();
    return this.options.sendsPerWindow - this.options.reservedSends - this.#sentAt.length;
  }

  #flush(): void {
    while (this.#open && this.#queue.length > 0) {
      if (this.#budget() <= 0) {
        this.#wakeWhenBudgetFrees();
        return;
      }
      const entry = this.#queue[0]!;
      const written = this.transport.write(entry.data, (error, retry) => this.#settle(entry, error, retry));
      if (!written) {
        // The socket is closing under us: keep the payload for the next ready connection.
        this.pause();
        return;
      }
      this.#queue.shift();
      this.#sentAt.push(this.transport.now());
    }
  }

  #settle(entry: Entry, error: Error | undefined, retry: boolean | undefined): void {
    if (retry && !this.#closedWith) {
      // Not written: back in its place in the queue, for the next ready connection.
      this.pause();
      this.#queue.push(entry);
      this.#queue.sort((a, b) => a.order - b.order);
    } else if (retry || error) {
      entry.reject(
        error instanceof OutboxError
          ? error
          : new OutboxError('SEND_FAILED', `the socket failed to write the payload: ${error?.message ?? 'not written'}`),
      );
    } else entry.resolve();
  }

  #wakeWhenBudgetFrees(): void {
    if (this.#timer !== undefined) return;
    const oldest = this.#sentAt[0] ?? this.transport.now();
    const wait = Math.max(0, oldest + this.options.windowMs - this.transport.now()) + 1;
    this.#timer = this.transport.setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, wait);
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    this.transport.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
