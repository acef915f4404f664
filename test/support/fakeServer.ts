import { GatewayCloseCodes, GatewayOpcodes } from 'discord-api-types/v10';
import { SocketState } from '../../src/types.ts';
import { serverFrames } from './discordFrames.ts';
import { FakeSocketFactory, cooperative, type FakeSocket, type FakeSocketBehaviour } from './fakeSocket.ts';
import type { ManualClock } from './manualClock.ts';

/** One entry of a session's event log: READY and RESUMED take a sequence number like any event. */
export interface LoggedEvent {
  seq: number;
  t: string;
}

/** Event names that are handshake answers, not dispatches a client delivers. */
const handshakeEvents = new Set(['READY', 'RESUMED']);
/** Codes after which Discord will not let the session be resumed. */
const sessionEndingServerCodes = new Set<number>([
  GatewayCloseCodes.NotAuthenticated,
  GatewayCloseCodes.AuthenticationFailed,
  GatewayCloseCodes.InvalidSeq,
  GatewayCloseCodes.SessionTimedOut,
  GatewayCloseCodes.InvalidShard,
  GatewayCloseCodes.ShardingRequired,
  GatewayCloseCodes.InvalidAPIVersion,
  GatewayCloseCodes.InvalidIntents,
  GatewayCloseCodes.DisallowedIntents,
]);

/**
 * A session as the server keeps it: a numbered log that outlives the sockets carrying it, so a
 * RESUME can replay what the client missed, and so a test can compare what the client delivered
 * with what was dispatched.
 */
export class FakeSession {
  readonly log: LoggedEvent[] = [];
  ended = false;
  attached: Connection | undefined;

  constructor(readonly id: string) {}

  get seq(): number {
    return this.log.at(-1)?.seq ?? 0;
  }

  append(t: string): LoggedEvent {
    const event = { seq: this.seq + 1, t };
    this.log.push(event);
    return event;
  }

  /** How many dispatches (READY and RESUMED excluded) have a sequence ≤ `seq`. */
  dispatchesUpTo(seq: number): number {
    let count = 0;
    for (const event of this.log) {
      if (event.seq > seq) break;
      if (!handshakeEvents.has(event.t)) count += 1;
    }
    return count;
  }

  isDispatch(seq: number): boolean {
    const event = this.log[seq - 1];
    return event !== undefined && event.seq === seq && !handshakeEvents.has(event.t);
  }
}

type Phase = 'connecting' | 'handshake' | 'stalled' | 'ready' | 'gone';

export interface Connection {
  readonly id: number;
  readonly socket: FakeSocket;
  phase: Phase;
  session: FakeSession | undefined;
  /** frames the client sent on this connection, parsed, in order */
  readonly received: Array<{ op: number; d: unknown }>;
}

export type MalformedKind = 'json' | 'binary' | 'op' | 'hello';

export interface FakeServerOptions {
  clock: ManualClock;
  /** one-way network delay in ms, both directions */
  latency: number;
  heartbeatInterval: number;
  /** `resume_gateway_url` sent in READY (null: none) */
  resumeUrl: string | null;
  /** a RESUME also replays this many events the client already had */
  replayOverlap: number;
}

/**
 * A Discord gateway v10 server in the same process, playing the network over FakeSockets: it opens
 * each socket the engine creates and says HELLO, answers IDENTIFY with READY and RESUME with a
 * replay of missed events then RESUMED, acknowledges heartbeats, and lets a test inject faults.
 * Everything it sends travels with `latency` on the engine's own clock, so network deliveries and
 * the engine's timers interleave in one timeline; `inFlight` counts the deliveries still on the way,
 * so a test can tell them apart from the engine's timers.
 */
export class FakeServer {
  readonly sockets = new FakeSocketFactory();
  readonly connections: Connection[] = [];
  readonly sessions = new Map<string, FakeSession>();
  /** things the client did that Discord would refuse, e.g. a second IDENTIFY on one connection */
  readonly protocolViolations: string[] = [];
  /** called when the client sends a frame, before the server sees it (after `latency`) */
  onClientFrame: (connection: Connection, frame: { op: number; d: unknown }) => void = () => {};

  readonly #inFlight = new Set<number>();
  readonly #faults = { openStalls: 0, helloStalls: 0, readyStalls: 0, dropAcks: false };
  #nextSession = 1;

  constructor(readonly options: FakeServerOptions) {}

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** For `createSocket`: the engine dials, the server accepts after `latency`. */
  readonly createSocket = (url: string): FakeSocket => {
    const socket = this.sockets.create(url);
    const connection: Connection = { id: this.connections.length + 1, socket, phase: 'connecting', session: undefined, received: [] };
    this.connections.push(connection);
    this.#tap(connection);
    this.#later(() => this.#accept(connection));
    return socket;
  };

  /** The newest connection the server has accepted and not yet lost. */
  get current(): Connection | undefined {
    const connection = this.connections.at(-1);
    return connection && connection.phase !== 'connecting' && connection.phase !== 'gone' && connection.socket.isLive
      ? connection
      : undefined;
  }

  // --- faults -------------------------------------------------------------------------------

  stallOpen(count: number): void {
    this.#faults.openStalls += count;
  }

  stallHello(count: number): void {
    this.#faults.helloStalls += count;
  }

  stallReady(count: number): void {
    this.#faults.readyStalls += count;
  }

  dropAcks(on: boolean): void {
    this.#faults.dropAcks = on;
  }

  /** Server close frame with `code`; sessions Discord would not resume end with it. */
  close(code: number): void {
    const connection = this.current;
    if (!connection) return;
    this.#lose(connection, sessionEndingServerCodes.has(code));
    this.#later(() => {
      if (connection.socket.readyState !== SocketState.CLOSED) connection.socket.peerClose(code);
    });
  }

  /** The network fails under the newest socket, whatever state it is in: the client sees 1006 now. */
  drop(): void {
    const connection = this.connections.at(-1);
    if (!connection || !connection.socket.isLive) return;
    this.#lose(connection, false);
    if (connection.socket.readyState === SocketState.CONNECTING) {
      connection.socket.emitError(new Error('connect ECONNRESET (simulated)'));
    }
    connection.socket.finishClose(1006);
  }

  requestReconnect(): void {
    this.#toCurrent(serverFrames.reconnect());
  }

  invalidateSession(resumable: boolean): void {
    const connection = this.current;
    if (!connection) return;
    this.#send(connection, serverFrames.invalidSession(resumable));
    if (resumable) return;
    this.#endSession(connection.session);
    connection.session = undefined;
    // Discord lets the client IDENTIFY again on the same socket.
    connection.phase = 'handshake';
  }

  requestHeartbeat(): void {
    this.#toCurrent(serverFrames.heartbeatRequest());
  }

  malformed(kind: MalformedKind): void {
    const connection = this.current;
    if (!connection) return;
    if (kind === 'binary') this.#deliver(connection, (socket) => socket.receive(Buffer.from('{"op":11}'), true));
    else if (kind === 'json') this.#deliver(connection, (socket) => socket.receive('{"op": 0, "t": '));
    else if (kind === 'op') this.#send(connection, { op: 99, d: null });
    else this.#send(connection, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: -1 } });
  }

  /**
   * Sockets stop answering close(); with `terminateToo`, terminate() as well. Applies to the live
   * sockets and to those created from now on.
   */
  stick(terminateToo: boolean): void {
    const behaviour: FakeSocketBehaviour = { onClose: 'hangs', onTerminate: terminateToo ? 'hangs' : 'closes' };
    this.sockets.behaviour = behaviour;
    for (const socket of this.sockets.sockets) if (socket.isLive) socket.behaviour = { ...behaviour };
  }

  /** Stuck sockets finally reach CLOSED (a late `close`), and new ones behave again. */
  unstick(): void {
    this.sockets.behaviour = cooperative;
    for (const socket of this.sockets.sockets) {
      if (!socket.isLive) continue;
      socket.behaviour = { ...cooperative };
      if (socket.readyState === SocketState.CLOSING) socket.finishClose(1006);
    }
  }

  /** Appends `count` events to every session still alive; the attached ready socket gets them. */
  dispatch(count: number): void {
    for (let i = 0; i < count; i += 1) {
      for (const session of this.sessions.values()) {
        if (session.ended) continue;
        const { seq, t } = session.append('MESSAGE_CREATE');
        const connection = session.attached;
        if (connection?.phase === 'ready') this.#send(connection, eventFrame(session, seq, t));
      }
    }
  }

  // --- the server's side of the protocol ------------------------------------------------------

  #accept(connection: Connection): void {
    const { socket } = connection;
    if (socket.readyState !== SocketState.CONNECTING) return;
    if (this.#faults.openStalls > 0) {
      this.#faults.openStalls -= 1;
      return;
    }
    socket.open();
    connection.phase = 'handshake';
    if (this.#faults.helloStalls > 0) {
      this.#faults.helloStalls -= 1;
      return;
    }
    this.#send(connection, serverFrames.hello(this.options.heartbeatInterval));
  }

  #receive(connection: Connection, frame: { op: number; d: unknown }): void {
    const d = (frame.d ?? {}) as Record<string, unknown>;
    switch (frame.op) {
      case GatewayOpcodes.Heartbeat:
        if (!this.#faults.dropAcks) this.#send(connection, serverFrames.heartbeatAck());
        return;
      case GatewayOpcodes.Identify:
        if (!this.#admit(connection, 'IDENTIFY')) return;
        return this.#ready(connection);
      case GatewayOpcodes.Resume:
        if (!this.#admit(connection, 'RESUME')) return;
        return this.#resume(connection, String(d.session_id), typeof d.seq === 'number' ? d.seq : 0);
      default:
        return;
    }
  }

  #admit(connection: Connection, what: string): boolean {
    if (connection.phase !== 'handshake') {
      if (connection.phase !== 'gone') this.protocolViolations.push(`${what} on connection #${connection.id} in phase ${connection.phase}`);
      return false;
    }
    if (this.#faults.readyStalls > 0) {
      this.#faults.readyStalls -= 1;
      connection.phase = 'stalled';
      return false;
    }
    return true;
  }

  #ready(connection: Connection): void {
    const session = new FakeSession(`session-${this.#nextSession++}`);
    this.sessions.set(session.id, session);
    const { seq } = session.append('READY');
    this.#attach(connection, session);
    this.#send(connection, serverFrames.ready(seq, session.id, this.options.resumeUrl));
  }

  #resume(connection: Connection, sessionId: string, lastSeq: number): void {
    const session = this.sessions.get(sessionId);
    if (!session || session.ended) {
      this.#send(connection, serverFrames.invalidSession(false));
      return;
    }
    this.#attach(connection, session);
    const from = Math.max(0, lastSeq - this.options.replayOverlap);
    for (const event of session.log) {
      if (event.seq > from && !handshakeEvents.has(event.t)) this.#send(connection, eventFrame(session, event.seq, event.t));
    }
    this.#send(connection, serverFrames.resumed(session.append('RESUMED').seq));
  }

  #attach(connection: Connection, session: FakeSession): void {
    // Taking a session over is enough: the socket that had it simply stops receiving its events.
    if (session.attached && session.attached !== connection) session.attached.session = undefined;
    session.attached = connection;
    connection.session = session;
    connection.phase = 'ready';
  }

  #endSession(session: FakeSession | undefined): void {
    if (!session) return;
    session.ended = true;
    session.attached = undefined;
  }

  /** The server stops talking on a connection (it closed it, or the network failed). */
  #lose(connection: Connection, endSession: boolean): void {
    if (endSession) this.#endSession(connection.session);
    else if (connection.session?.attached === connection) connection.session.attached = undefined;
    connection.session = undefined;
    connection.phase = 'gone';
  }

  // --- the network ------------------------------------------------------------------------

  /** Sees what the engine does to a socket: frames it sends and the close code it uses. */
  #tap(connection: Connection): void {
    const { socket } = connection;
    const send = socket.send.bind(socket);
    socket.send = (data: string, done?: (error?: Error) => void) => {
      send(data, done);
      const frame = JSON.parse(data) as { op: number; d: unknown };
      connection.received.push(frame);
      this.onClientFrame(connection, frame);
      this.#later(() => this.#receive(connection, frame));
    };
    const close = socket.close.bind(socket);
    socket.close = (code?: number) => {
      const reachedServer = connection.phase !== 'connecting' && connection.phase !== 'gone';
      close(code);
      // Discord ends a session its client closes with 1000 or 1001.
      if (reachedServer) this.#later(() => this.#lose(connection, code === 1000 || code === 1001));
    };
  }

  #toCurrent(frame: unknown): void {
    const connection = this.current;
    if (connection) this.#send(connection, frame);
  }

  #send(connection: Connection, frame: unknown): void {
    this.#deliver(connection, (socket) => socket.receive(frame));
  }

  /** Frames reach a socket that is open or closing (`ws` still reads while closing), never a closed one. */
  #deliver(connection: Connection, act: (socket: FakeSocket) => void): void {
    if (connection.phase === 'gone') return;
    this.#later(() => {
      const state = connection.socket.readyState;
      if (state === SocketState.OPEN || state === SocketState.CLOSING) act(connection.socket);
    });
  }

  #later(fn: () => void): void {
    const id = this.options.clock.setTimeout(() => {
      this.#inFlight.delete(id);
      fn();
    }, this.options.latency);
    this.#inFlight.add(id);
  }
}

function eventFrame(session: FakeSession, seq: number, t: string) {
  return serverFrames.dispatch(t, seq, { session: session.id, seq });
}
