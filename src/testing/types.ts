import type { FleetRulesOptions, IdentifyViolation } from './identifyRules.ts';
import type { GatewayBotOptions, SessionStartLimit } from './gatewayBotApi.ts';
import type { ChaosEventName, ChaosListener } from './listeners.ts';

export interface ChaosGatewayOptions {
  /** Interface to listen on; default '127.0.0.1'. */
  host?: string;
  /** Default 0: a random free port. */
  port?: number;
  /** Milliseconds announced in HELLO; default 41_250. */
  heartbeatInterval?: number;
  /** When set, IDENTIFY/RESUME with any other token is closed with 4004. */
  token?: string;
  /** Overrides `resume_gateway_url` in READY. */
  resumeUrl?: string;
  /**
   * Enforces Discord's session start rules: one IDENTIFY per bucket per window, a bucket's shards
   * started in order, a daily budget. A breach gets op 9 and is recorded in `violations`.
   */
  fleet?: FleetRulesOptions;
  /** What `GET /api/v10/gateway/bot` on the same port answers besides the URL (see gatewayBotApi.ts). */
  gatewayBot?: GatewayBotOptions;
}

export interface ChaosCounters {
  /** Sockets accepted in total. */
  connections: number;
  /** Sockets open right now, as the server sees them. */
  open: number;
  /** Most sockets open at one time. */
  maxOpen: number;
  /** IDENTIFY frames received, accepted or not. */
  identifies: number;
  /** RESUME frames received, accepted or not. */
  resumes: number;
  /** HEARTBEAT frames received. */
  heartbeats: number;
  /** Events appended to sessions by dispatch()/the stream (one per session reached). */
  dispatched: number;
}

export interface ReceivedFrame {
  /** 1-based id of the connection the frame arrived on. */
  connection: number;
  op: number;
  d: unknown;
  /** Date.now() on arrival. */
  at: number;
}

export interface ChaosGateway {
  /** `ws://HOST:PORT/?v=10&encoding=json` */
  readonly url: string;
  /** `http://HOST:PORT/api/v10`: a REST base URL whose `GET /gateway/bot` points at this gateway */
  readonly apiUrl: string;
  readonly port: number;
  /** Live object: it changes as the server works. */
  readonly counters: ChaosCounters;
  /** The well-formed frames the server received, in arrival order (the last 100,000). */
  readonly received: ReadonlyArray<ReceivedFrame>;
  /** Breaches of the fleet rules (with the `fleet` option), in order. */
  readonly violations: ReadonlyArray<IdentifyViolation>;
  /** IDENTIFYs accepted under the fleet rules: the shard and when. */
  readonly identified: ReadonlyArray<{ shard: number | null; at: number }>;
  /** `session_start_limit` as GET /gateway/bot reports it, from the fleet rules' budget. */
  sessionStartLimit(): SessionStartLimit;
  /** Zeroes the counters (maxOpen becomes the current open count) and empties `received`. */
  resetCounters(): void;

  /** Destroys every open client socket without a close frame (clients see 1006). */
  kill(): void;
  /** Sends a close frame with `code` to every open client socket. */
  closeWith(code: number, reason?: string): void;
  /** The next `connections` (default 1) new sockets get no HELLO. */
  stallHello(connections?: number): void;
  /** The next `handshakes` (default 1) IDENTIFY/RESUME get no READY/RESUMED and no replay. */
  stallReady(handshakes?: number): void;
  /** While on, heartbeats get no ACK. */
  dropAcks(on: boolean): void;
  /** Every RESUME from now on also replays this many events the client had already seen. */
  replayOverlap(events: number): void;
  /**
   * While on, close frames from clients are swallowed: no reply, and the
   * server never ends the TCP connection itself. A client that then destroys
   * its socket is still noticed.
   */
  neverCloseHandshake(on: boolean): void;
  /** Sends op 7 RECONNECT to every open client. */
  requestReconnect(): void;
  /** Sends op 9 with d=resumable; when not resumable, the sessions of the open sockets are forgotten. */
  invalidateSession(resumable: boolean): void;
  /** Sends op 1 HEARTBEAT to every open client. */
  requestHeartbeat(): void;
  /**
   * Sends arbitrary data to every open client, for malformed-input tests. On a compressed
   * connection it goes out as given, past the stream (a hostile frame), unless `compressed` asks
   * for it to go through the connection's compressor like any other message.
   */
  sendRaw(data: string | Buffer, opts?: { binary?: boolean; compressed?: boolean }): void;

  /**
   * Appends one dispatch to every live session it routes to and delivers it where a socket is
   * attached; returns the number of sessions reached. With a `guild_id` in `d`, a sharded session
   * gets it only if `(guild_id >> 22) % num_shards` is its shard; without one, only shard 0 does.
   */
  dispatch(t?: string, d?: unknown): number;
  /** Dispatches `perSecond` events per second until stopStream(); replaces a running stream. */
  startStream(perSecond: number): void;
  stopStream(): void;
  sessionCount(): number;
  /** A session's last sequence number and how many dispatches it has had (READY/RESUMED excluded). */
  sessionStats(sessionId: string): { seq: number; dispatched: number } | undefined;
  /**
   * Forgets a session, as Discord does once its client closed it with 1000/1001 or its resume
   * window passed: it gets no more dispatches, and a RESUME of it is answered with op 9 d=false.
   */
  endSession(sessionId: string): boolean;
  /** Returns the unsubscribe function. */
  on(event: ChaosEventName, listener: ChaosListener): () => void;
  /** Terminates every socket, stops timers and closes the server; idempotent. */
  close(): Promise<void>;
}
