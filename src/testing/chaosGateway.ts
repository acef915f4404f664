import type { IncomingMessage } from 'node:http';
import { GatewayCloseCodes, GatewayOpcodes } from 'discord-api-types/gateway/v10';
import type { RawData, WebSocket } from 'ws';
import { tapCloseFrames } from './closeFrameTap.ts';
import { isOpen, rawDataToString, send, whenClosed, type ClientConnection } from './connection.ts';
import { ListenerRegistry, type ChaosEventName, type ChaosListener } from './listeners.ts';
import {
  asRecord,
  controlFrame,
  decodeClientFrame,
  isAllowedBeforeHandshake,
  isClientOp,
  type ClientFrame,
  type GatewayFrame,
} from './protocol.ts';
import { IdentifyRules, shardField, shardOfGuild, type IdentifyViolation } from './identifyRules.ts';
import { GatewaySession } from './session.ts';
import { startSteadyTimer } from './steadyTimer.ts';
import { compressorFor } from './streamCompression.ts';
import { answerGatewayBot, checkGatewayBotOptions, type SessionStartLimit } from './gatewayBotApi.ts';
import { WebSocketTransport } from './transport.ts';
import type { ChaosCounters, ChaosGateway, ChaosGatewayOptions, ReceivedFrame } from './types.ts';

export type { ChaosEventInfo, ChaosEventName, ChaosListener } from './listeners.ts';
export type { ChaosCounters, ChaosGateway, ChaosGatewayOptions, ReceivedFrame } from './types.ts';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_HEARTBEAT_INTERVAL = 41_250;
const DEFAULT_DISPATCH_EVENT = 'MESSAGE_CREATE';
const maxReceivedFrames = 100_000;

interface FaultState {
  helloStallsLeft: number;
  readyStallsLeft: number;
  dropAcks: boolean;
  swallowClientClose: boolean;
  replayOverlap: number;
}

export async function startChaosGateway(options: ChaosGatewayOptions = {}): Promise<ChaosGateway> {
  checkGatewayBotOptions(options.gatewayBot);
  const gateway = new ChaosGatewayServer(options);
  try {
    await gateway.transport.listen(options.host ?? DEFAULT_HOST, options.port ?? 0);
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return gateway;
}

class ChaosGatewayServer implements ChaosGateway {
  readonly counters: ChaosCounters = {
    connections: 0,
    open: 0,
    maxOpen: 0,
    identifies: 0,
    resumes: 0,
    heartbeats: 0,
    dispatched: 0,
  };
  private readonly receivedFrames: ReceivedFrame[] = [];
  readonly transport: WebSocketTransport = new WebSocketTransport(
    (socket, request) => this.accept(socket, request),
    (request, response) => answerGatewayBot(request, response, this.apiOptions(), this.transport.baseUrl),
  );
  private readonly connections = new Map<number, ClientConnection>();
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly listeners = new ListenerRegistry();
  private readonly faults: FaultState = {
    helloStallsLeft: 0,
    readyStallsLeft: 0,
    dropAcks: false,
    swallowClientClose: false,
    replayOverlap: 0,
  };
  private nextConnectionId = 1;
  private readonly rules: IdentifyRules | undefined;
  private stopStreamTimer: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: ChaosGatewayOptions) {
    this.rules = options.fleet ? new IdentifyRules(options.fleet) : undefined;
  }

  get violations(): ReadonlyArray<IdentifyViolation> {
    return this.rules?.violations ?? [];
  }

  get identified(): ReadonlyArray<{ shard: number | null; at: number }> {
    return this.rules?.granted ?? [];
  }

  /** With fleet rules, GET /gateway/bot reports their budget unless told otherwise. */
  private apiOptions(): ChaosGatewayOptions {
    if (!this.rules || this.options.gatewayBot?.sessionStartLimit) return this.options;
    return { ...this.options, gatewayBot: { ...this.options.gatewayBot, sessionStartLimit: () => this.sessionStartLimit() } };
  }

  sessionStartLimit(): SessionStartLimit {
    const rules = this.rules ?? new IdentifyRules();
    return rules.sessionStartLimit();
  }

  get port(): number {
    return this.transport.port;
  }

  get url(): string {
    return `${this.transport.baseUrl}/?v=10&encoding=json`;
  }

  get apiUrl(): string {
    return `${this.transport.baseUrl.replace(/^ws:/, 'http:')}/api/v10`;
  }

  get received(): ReadonlyArray<ReceivedFrame> {
    return this.receivedFrames;
  }

  resetCounters(): void {
    Object.assign(this.counters, {
      connections: 0,
      maxOpen: this.counters.open,
      identifies: 0,
      resumes: 0,
      heartbeats: 0,
      dispatched: 0,
    });
    this.receivedFrames.length = 0;
  }

  // ---- connection lifecycle ----

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const connection: ClientConnection = {
      id: this.nextConnectionId++,
      socket,
      phase: 'awaiting-handshake',
      sessionId: undefined,
      compressor: compressorFor(request),
    };
    this.connections.set(connection.id, connection);
    this.counters.connections++;
    this.counters.open++;
    this.counters.maxOpen = Math.max(this.counters.maxOpen, this.counters.open);

    const tap = tapCloseFrames(request.socket, () => this.faults.swallowClientClose);
    // ws answers protocol errors with a close frame and reports the code in
    // 'close'; the error object itself adds nothing for the tests.
    socket.on('error', () => tap.stop());
    socket.on('message', (data) => this.onRawMessage(connection, data));
    socket.on('close', (code) => this.onSocketClosed(connection, code));
    if (connection.compressor) socket.on('close', () => connection.compressor?.close());

    this.listeners.emit('connection', { connection: connection.id });
    if (this.faults.helloStallsLeft > 0) {
      this.faults.helloStallsLeft--;
      return;
    }
    const heartbeatInterval = this.options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
    send(connection, controlFrame(GatewayOpcodes.Hello, { heartbeat_interval: heartbeatInterval }));
  }

  private onSocketClosed(connection: ClientConnection, code: number): void {
    // A client that closes with 1000 or 1001 gives its session up, as on Discord: a later RESUME of
    // it gets op 9, and the server stops buffering events for it.
    if (!connection.closedByServer && (code === 1000 || code === 1001) && connection.sessionId !== undefined) {
      this.sessions.delete(connection.sessionId);
    }
    this.connections.delete(connection.id);
    this.counters.open--;
    this.detach(connection);
    this.listeners.emit('close', { connection: connection.id, code });
  }

  // ---- inbound frames ----

  private onRawMessage(connection: ClientConnection, data: RawData): void {
    const frame = decodeClientFrame(rawDataToString(data));
    if (!frame) {
      connection.socket.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
      return;
    }
    this.receivedFrames.push({ connection: connection.id, op: frame.op, d: frame.d, at: Date.now() });
    // A server left running (the demo) must not grow without bound; tests read far fewer.
    if (this.receivedFrames.length > maxReceivedFrames) this.receivedFrames.splice(0, this.receivedFrames.length - maxReceivedFrames);
    this.handleFrame(connection, frame);
  }

  private handleFrame(connection: ClientConnection, frame: ClientFrame): void {
    if (!isClientOp(frame.op)) {
      connection.socket.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
      return;
    }
    if (connection.phase === 'awaiting-handshake' && !isAllowedBeforeHandshake(frame.op)) {
      connection.socket.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
      return;
    }
    switch (frame.op) {
      case GatewayOpcodes.Heartbeat:
        this.onHeartbeat(connection);
        return;
      case GatewayOpcodes.Identify:
        this.onIdentify(connection, asRecord(frame.d));
        return;
      case GatewayOpcodes.Resume:
        this.onResume(connection, asRecord(frame.d));
        return;
      default:
        // Presence, voice and member requests are accepted and ignored.
        return;
    }
  }

  private onHeartbeat(connection: ClientConnection): void {
    this.counters.heartbeats++;
    if (!this.faults.dropAcks) send(connection, controlFrame(GatewayOpcodes.HeartbeatAck, null));
  }

  private onIdentify(connection: ClientConnection, payload: Record<string, unknown>): void {
    this.counters.identifies++;
    if (!this.admitHandshake(connection, payload.token)) return;
    this.listeners.emit('identify', { connection: connection.id });
    const shard = shardField(payload.shard);
    if (shard === 'invalid') {
      connection.socket.close(GatewayCloseCodes.InvalidShard, 'Invalid shard.');
      return;
    }
    // Outside the rules: op 9 as Discord answers a rate-limited IDENTIFY, and the breach is kept.
    if (this.rules?.admit(shard)) {
      send(connection, controlFrame(GatewayOpcodes.InvalidSession, false));
      return;
    }
    if (this.consumeReadyStall(connection)) return;

    const session = new GatewaySession(undefined, shard);
    this.sessions.set(session.id, session);
    this.attach(connection, session);
    send(connection, session.append('READY', this.readyPayload(session)));
  }

  private onResume(connection: ClientConnection, payload: Record<string, unknown>): void {
    this.counters.resumes++;
    if (!this.admitHandshake(connection, payload.token)) return;
    this.listeners.emit('resume', { connection: connection.id });
    if (this.consumeReadyStall(connection)) return;

    const session = typeof payload.session_id === 'string' ? this.sessions.get(payload.session_id) : undefined;
    const lastSeenSeq = typeof payload.seq === 'number' ? payload.seq : 0;
    // A server that replays from too far back resends events the client already has.
    const missed = session?.framesAfter(Math.max(0, lastSeenSeq - this.faults.replayOverlap));
    if (!session || !missed) {
      // A session whose replay buffer no longer reaches back far enough is as
      // good as gone: resuming it later would skip events.
      if (session) this.sessions.delete(session.id);
      send(connection, controlFrame(GatewayOpcodes.InvalidSession, false));
      return;
    }
    this.attach(connection, session);
    for (const frame of missed) send(connection, frame);
    send(connection, session.append('RESUMED', {}));
  }

  /** Shared IDENTIFY/RESUME preconditions; closes the socket and returns false when one fails. */
  private admitHandshake(connection: ClientConnection, token: unknown): boolean {
    if (connection.phase !== 'awaiting-handshake') {
      connection.socket.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
      return false;
    }
    if (this.options.token !== undefined && token !== this.options.token) {
      connection.socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
      return false;
    }
    return true;
  }

  /** A stalled handshake still counts as sent, so a retry on the same socket is a 4005 like on Discord. */
  private consumeReadyStall(connection: ClientConnection): boolean {
    if (this.faults.readyStallsLeft === 0) return false;
    this.faults.readyStallsLeft--;
    connection.phase = 'stalled';
    return true;
  }

  private readyPayload(session: GatewaySession): Record<string, unknown> {
    return {
      v: 10,
      session_id: session.id,
      resume_gateway_url: this.options.resumeUrl ?? this.transport.baseUrl,
      user: { id: '1', username: 'chaos' },
      guilds: [],
    };
  }

  // ---- sessions ----

  private attach(connection: ClientConnection, session: GatewaySession): void {
    // Taking over is enough: the previous socket simply stops receiving.
    const previous = session.attachedTo === undefined ? undefined : this.connections.get(session.attachedTo);
    if (previous) previous.sessionId = undefined;
    session.attachedTo = connection.id;
    connection.sessionId = session.id;
    connection.phase = 'ready';
  }

  private detach(connection: ClientConnection): void {
    const session = connection.sessionId === undefined ? undefined : this.sessions.get(connection.sessionId);
    if (session?.attachedTo === connection.id) session.attachedTo = undefined;
    connection.sessionId = undefined;
  }

  dispatch(t: string = DEFAULT_DISPATCH_EVENT, d?: unknown): number {
    let reached = 0;
    for (const session of this.sessions.values()) {
      if (!routesTo(session, d)) continue;
      reached++;
      const frame = session.append(t, d);
      session.dispatched++;
      const receiver = session.attachedTo === undefined ? undefined : this.connections.get(session.attachedTo);
      if (receiver?.phase === 'ready') send(receiver, frame);
    }
    this.counters.dispatched += reached;
    return reached;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  sessionStats(sessionId: string): { seq: number; dispatched: number } | undefined {
    const session = this.sessions.get(sessionId);
    return session && { seq: session.seq, dispatched: session.dispatched };
  }

  endSession(sessionId: string): boolean {
    return this.sessions.delete(sessionId);
  }

  startStream(perSecond: number): void {
    this.stopStream();
    if (this.closing || !(perSecond > 0)) return;
    this.stopStreamTimer = startSteadyTimer(perSecond, () => this.dispatch());
  }

  stopStream(): void {
    this.stopStreamTimer?.();
    this.stopStreamTimer = undefined;
  }

  // ---- faults ----

  kill(): void {
    for (const connection of this.openConnections()) connection.socket.terminate();
  }

  closeWith(code: number, reason?: string): void {
    for (const connection of this.openConnections()) {
      connection.closedByServer = true;
      connection.socket.close(code, reason);
    }
  }

  stallHello(connections = 1): void {
    this.faults.helloStallsLeft += connections;
  }

  stallReady(handshakes = 1): void {
    this.faults.readyStallsLeft += handshakes;
  }

  dropAcks(on: boolean): void {
    this.faults.dropAcks = on;
  }

  replayOverlap(events: number): void {
    this.faults.replayOverlap = Math.max(0, Math.floor(events));
  }

  neverCloseHandshake(on: boolean): void {
    this.faults.swallowClientClose = on;
  }

  requestReconnect(): void {
    this.broadcast(controlFrame(GatewayOpcodes.Reconnect, null));
  }

  invalidateSession(resumable: boolean): void {
    for (const connection of this.openConnections()) {
      send(connection, controlFrame(GatewayOpcodes.InvalidSession, resumable));
      if (resumable) continue;
      if (connection.sessionId !== undefined) this.sessions.delete(connection.sessionId);
      connection.sessionId = undefined;
      // The client may IDENTIFY again on the same socket, as Discord allows.
      connection.phase = 'awaiting-handshake';
    }
  }

  requestHeartbeat(): void {
    this.broadcast(controlFrame(GatewayOpcodes.Heartbeat, null));
  }

  sendRaw(data: string | Buffer, opts: { binary?: boolean; compressed?: boolean } = {}): void {
    const binary = opts.binary ?? typeof data !== 'string';
    for (const connection of this.openConnections()) {
      // Through the connection's compressor, so the stream stays intact and only the message is bad.
      const raw = opts.compressed && connection.compressor ? connection.compressor.compress(data) : data;
      connection.socket.send(raw, { binary: opts.compressed && connection.compressor ? true : binary });
    }
  }

  // ---- plumbing ----

  on(event: ChaosEventName, listener: ChaosListener): () => void {
    return this.listeners.add(event, listener);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopStream();
    const socketsClosed = [...this.connections.values()].map(({ socket }) => whenClosed(socket));
    for (const { socket } of this.connections.values()) socket.terminate();
    this.sessions.clear();
    await Promise.all([...socketsClosed, this.transport.close()]);
  }

  private openConnections(): ClientConnection[] {
    return [...this.connections.values()].filter(isOpen);
  }

  private broadcast(frame: GatewayFrame): void {
    for (const connection of this.openConnections()) send(connection, frame);
  }
}

/**
 * Whether a session gets an event: a sharded session gets its guilds' events, and shard 0 also
 * the events of no guild (DMs); an unsharded session gets everything.
 */
function routesTo(session: GatewaySession, d: unknown): boolean {
  if (!session.shard) return true;
  const [id, count] = session.shard;
  const guildId = typeof d === 'object' && d !== null ? (d as { guild_id?: unknown }).guild_id : undefined;
  if (typeof guildId !== 'string' || !/^\d+$/.test(guildId)) return id === 0;
  return shardOfGuild(guildId, count) === id;
}
