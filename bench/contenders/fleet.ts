/**
 * What every contender provides: a fleet of `count` gateway connections (one is a fleet of one),
 * reporting READY, RESUMED and each DISPATCH per connection, and counting how many sockets each
 * connection had live at once.
 */

export const contenderNames = ['raw ws', 'lifeline', '@discordjs/ws'] as const;
export type ContenderName = (typeof contenderNames)[number];

/**
 * The shard fleet comparisons: lifeline runs its connections as one `createShardManager` fleet,
 * raw ws and @discordjs/ws as above, every connection identifying as shard [i, count].
 */
export const shardContenderNames = ['raw ws', 'lifeline shards', '@discordjs/ws'] as const;
export type ShardContenderName = (typeof shardContenderNames)[number];

/** Every contender a client process can run. */
export const allContenderNames = [...contenderNames, 'lifeline shards'] as const;
export type AnyContenderName = (typeof allContenderNames)[number];

/** The token the chaos gateway is started with and every contender identifies with. */
export const benchToken = 'bench-token-not-a-secret';

export interface FleetEvents {
  /** an op 0 event other than READY and RESUMED */
  dispatch(connection: number): void;
  /** READY after an IDENTIFY */
  ready(connection: number): void;
  resumed(connection: number): void;
}

export interface FleetOptions {
  /** the chaos gateway's URL, `ws://127.0.0.1:PORT/?v=10&encoding=json` */
  url: string;
  count: number;
  /** how long a forced reconnect waits for the old socket's close handshake (raw ws, lifeline) */
  drainMs?: number;
  /** lifeline's `timeouts.stable` */
  stableMs?: number;
  /** transport compression of the stream (lifeline, @discordjs/ws); none when absent */
  compression?: BenchCompression;
  /** raw ws, lifeline: IDENTIFY as shard [connection, count] (lifeline shards and @discordjs/ws always do) */
  sharded?: boolean;
  /** the identify buckets the contender is told of (session_start_limit.max_concurrency); default `count` */
  maxConcurrency?: number;
  /** lifeline shards: the identify queue's bucket window (`identifyWindowMs`); default 5000 */
  identifyWindowMs?: number;
  events: FleetEvents;
}

export type BenchCompression = 'zlib-stream' | 'zstd-stream';

export interface Fleet {
  /** starts a fresh reconnect (new IDENTIFY) of one connection; READY is reported through events */
  forceFresh(connection: number): void;
  /** stops reading from every connection's current socket; what arrives meanwhile waits in buffers */
  pause(): void;
  resume(): void;
  /** the most sockets any one connection had live (created and not yet closed) at the same time */
  maxSocketsPerConnection(): number;
  close(): Promise<void>;
}

/** Opens the fleet and resolves once every connection is READY. */
export type StartFleet = (options: FleetOptions) => Promise<Fleet>;

/** A socket as far as the bench goes: it reports its end with `close`; a `ws` socket can also pause. */
export interface TrackedSocket {
  on(event: 'close', listener: () => void): unknown;
  pause?(): void;
  resume?(): void;
}

/**
 * Watches every socket a contender creates: counts live sockets per connection, from creation
 * until their `close` event, and keeps the newest one per connection so the bench can pause it.
 */
export class SocketCounter {
  readonly #live: Int32Array;
  readonly #newest: (TrackedSocket | undefined)[];
  #max = 0;

  constructor(connections: number) {
    this.#live = new Int32Array(connections);
    this.#newest = new Array(connections).fill(undefined);
  }

  get max(): number {
    return this.#max;
  }

  track<S extends TrackedSocket>(connection: number, socket: S): S {
    const live = ++this.#live[connection]!;
    if (live > this.#max) this.#max = live;
    this.#newest[connection] = socket;
    socket.on('close', () => {
      this.#live[connection]! -= 1;
    });
    return socket;
  }

  pauseAll(): void {
    for (const socket of this.#newest) socket?.pause?.();
  }

  resumeAll(): void {
    for (const socket of this.#newest) socket?.resume?.();
  }
}

/** The chaos gateway's URL without path and query, as `@discordjs/ws` and resume URLs want it. */
export function baseUrlOf(url: string): string {
  const { protocol, host } = new URL(url);
  return `${protocol}//${host}`;
}

/** Resolves `all` once every connection has been marked ready at least once. */
export class Readiness {
  readonly all: Promise<void>;
  readonly #seen: Uint8Array;
  #left: number;
  #resolve!: () => void;

  constructor(connections: number) {
    this.#seen = new Uint8Array(connections);
    this.#left = connections;
    this.all = new Promise((resolve) => (this.#resolve = resolve));
    if (connections === 0) this.#resolve();
  }

  mark(connection: number): void {
    if (this.#seen[connection]) return;
    this.#seen[connection] = 1;
    if (--this.#left === 0) this.#resolve();
  }
}
