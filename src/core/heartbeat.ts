/** One acknowledged heartbeat: when it went out, when its ACK came, in ms since the epoch. */
export interface HeartbeatRoundTrip {
  latencyMs: number;
  sentAt: number;
  ackedAt: number;
}

/** What a heartbeat needs from the socket that owns it. */
export interface HeartbeatHost {
  /** calls `due()` after this many ms, on the actor system's clock (a simulated one in tests) */
  schedule(delayMs: number): void;
  cancel(): void;
  /** writes one heartbeat (op 1 with the last sequence) */
  beat(): void;
  /** nothing was received for a whole interval: the connection is a zombie */
  zombie(): void;
  /** frames received so far, ACKs included: any frame proves the peer alive */
  framesReceived(): number;
  /** the time in ms since the epoch (Date.now) */
  now?(): number;
  /** an ACK answered the last heartbeat written */
  acked?(roundTrip: HeartbeatRoundTrip): void;
}

/**
 * The heartbeat of one socket, from HELLO until the socket is retired or closed: the first beat at
 * `interval × random` after HELLO, so that many shards do not beat in step, then one every
 * `interval`. When a beat is due and nothing at all arrived since the last one (no ACK, no other
 * frame), it reports a zombie and stops. Counting every frame keeps a server that is busy (its ACK
 * queued behind a burst of events) from being mistaken for a dead one; a quiet server still ACKs.
 * It lives inside the socket's actor, as a timer and a few fields, not as an actor of its own.
 */
export class Heartbeat {
  readonly #host: HeartbeatHost;
  #interval = 0;
  #running = false;
  #acked = true;
  #framesAtBeat = 0;
  /** when the heartbeat now awaiting its ACK was written; null once acknowledged */
  #sentAt: number | null = null;

  constructor(host: HeartbeatHost) {
    this.#host = host;
  }

  get running(): boolean {
    return this.#running;
  }

  start(interval: number, firstBeatAfter = interval * Math.random()): void {
    this.#host.cancel();
    this.#interval = interval;
    this.#running = true;
    this.#acked = true;
    this.#framesAtBeat = this.#host.framesReceived();
    this.#host.schedule(firstBeatAfter);
  }

  ack(): void {
    this.#acked = true;
    const sentAt = this.#sentAt;
    if (sentAt === null) return; // an ACK nobody asked for measures nothing
    this.#sentAt = null;
    const ackedAt = this.#now();
    this.#host.acked?.({ latencyMs: Math.max(0, ackedAt - sentAt), sentAt, ackedAt });
  }

  /** Writes a heartbeat the server asked for (op 1 from the server); its ACK is timed like any other. */
  beatNow(): void {
    this.#sentAt = this.#now();
    this.#host.beat();
  }

  #now(): number {
    return this.#host.now ? this.#host.now() : Date.now();
  }

  due(): void {
    if (!this.#running) return;
    if (!this.#acked && this.#host.framesReceived() === this.#framesAtBeat) {
      this.#running = false;
      this.#host.zombie();
      return;
    }
    this.#acked = false;
    this.#framesAtBeat = this.#host.framesReceived();
    this.#sentAt = this.#now();
    this.#host.beat();
    this.#host.schedule(this.#interval);
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#host.cancel();
  }
}
