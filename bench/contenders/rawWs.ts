import WebSocket from 'ws';
import { benchToken, Readiness, SocketCounter, type Fleet, type FleetEvents, type StartFleet } from './fleet.ts';

/**
 * The baseline: a bare `ws` client doing the least the Discord gateway protocol needs. HELLO →
 * IDENTIFY → READY, heartbeats, one JSON.parse per message, RESUME on the resume URL right after a
 * close, and for a forced fresh reconnect: close, wait for the close handshake up to `drainMs`,
 * terminate, then IDENTIFY on a new socket. No backoff, no timeouts, no duplicate filtering.
 */

interface Frame {
  op: number;
  d: any; // whatever the op carries; read only where the op says what it is
  s: number | null;
  t: string | null;
}

const query = '/?v=10&encoding=json';

class RawConnection {
  #socket: WebSocket | undefined;
  #sessionId: string | undefined;
  #resumeUrl: string | undefined;
  #seq: number | null = null;
  #firstBeat: NodeJS.Timeout | undefined;
  #beats: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(
    readonly index: number,
    readonly url: string,
    readonly drainMs: number,
    readonly events: FleetEvents,
    readonly counter: SocketCounter,
    /** `[index, count]` in IDENTIFY, or null for an unsharded connection */
    readonly shard: [number, number] | null,
  ) {}

  connect(): void {
    const resuming = this.#sessionId !== undefined;
    const url = resuming && this.#resumeUrl ? `${this.#resumeUrl}${query}` : this.url;
    const socket = this.counter.track(this.index, new WebSocket(url, { perMessageDeflate: false }));
    this.#socket = socket;
    socket.on('message', (data) => this.#onFrame(socket, JSON.parse(String(data)) as Frame));
    socket.on('close', () => this.#onClose(socket));
    socket.on('error', () => {});
  }

  #onFrame(socket: WebSocket, frame: Frame): void {
    switch (frame.op) {
      case 0:
        this.#seq = frame.s;
        if (frame.t === 'READY') {
          this.#sessionId = frame.d.session_id;
          this.#resumeUrl = frame.d.resume_gateway_url;
          this.events.ready(this.index);
        } else if (frame.t === 'RESUMED') {
          this.events.resumed(this.index);
        } else {
          this.events.dispatch(this.index);
        }
        return;
      case 10: {
        const interval: number = frame.d.heartbeat_interval;
        this.#firstBeat = setTimeout(() => {
          this.#beat(socket);
          this.#beats = setInterval(() => this.#beat(socket), interval);
        }, interval * Math.random());
        const d =
          this.#sessionId === undefined
            ? {
                token: benchToken,
                intents: 0,
                properties: { os: process.platform, browser: 'bench', device: 'bench' },
                ...(this.shard ? { shard: this.shard } : {}),
              }
            : { token: benchToken, session_id: this.#sessionId, seq: this.#seq };
        socket.send(JSON.stringify({ op: this.#sessionId === undefined ? 2 : 6, d }));
        return;
      }
      case 1:
        this.#beat(socket);
        return;
      case 7:
        socket.close(4000);
        return;
      case 9:
        if (frame.d !== true) this.#forget();
        socket.close(4000);
        return;
    }
  }

  #beat(socket: WebSocket): void {
    socket.send(JSON.stringify({ op: 1, d: this.#seq }));
  }

  #stopBeating(): void {
    clearTimeout(this.#firstBeat);
    clearInterval(this.#beats);
  }

  #forget(): void {
    this.#sessionId = undefined;
    this.#resumeUrl = undefined;
    this.#seq = null;
  }

  #onClose(socket: WebSocket): void {
    if (socket !== this.#socket) return;
    this.#stopBeating();
    this.#socket = undefined;
    if (!this.#stopping) this.connect();
  }

  /** Closes the socket, waits for the close handshake up to `drainMs`, then terminates it. */
  async #drain(code: number): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#stopBeating();
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.close(code);
    const timer = setTimeout(() => socket.terminate(), this.drainMs);
    await closed;
    clearTimeout(timer);
  }

  async forceFresh(): Promise<void> {
    this.#forget();
    await this.#drain(1000);
    if (!this.#stopping) this.connect();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#drain(1000);
  }
}

export const startRawWsFleet: StartFleet = async ({ url, count, drainMs = 5_000, sharded = false, events }) => {
  const counter = new SocketCounter(count);
  const ready = new Readiness(count);
  const wrapped: FleetEvents = {
    ...events,
    ready(connection) {
      ready.mark(connection);
      events.ready(connection);
    },
  };
  const connections = Array.from(
    { length: count },
    (_, index) => new RawConnection(index, url, drainMs, wrapped, counter, sharded ? [index, count] : null),
  );
  for (const connection of connections) connection.connect();
  await ready.all;
  const fleet: Fleet = {
    forceFresh: (connection) => void connections[connection]!.forceFresh(),
    pause: () => counter.pauseAll(),
    resume: () => counter.resumeAll(),
    maxSocketsPerConnection: () => counter.max,
    close: async () => {
      await Promise.all(connections.map((connection) => connection.stop()));
    },
  };
  return fleet;
};
