import { fromCallback } from 'xstate';
import {
  SocketState,
  type WebSocketLike,
  type DispatchPayload,
  type GatewayProtocol,
  type InboundFrame,
  type IdentifyTurnHandle,
} from '../types.ts';
import type { Decompressor, Inflated } from '../compression/decompressor.ts';
import type { TransportCompression } from '../compression/transportCompression.ts';
import type { SocketCommand, SocketEvent } from '../machines/events.ts';
import { connectionOf, type ConnectionRef } from '../connection/connection.ts';
import { LineSealed, SecondSocketRefused } from '../connection/socketLine.ts';
import { GatewayError, GatewayProtocolError } from '../api/errors.ts';
import { Heartbeat, type HeartbeatRoundTrip } from '../core/heartbeat.ts';

/** The socket actor's own timer: the next heartbeat is due. */
type HeartbeatDue = { type: 'heartbeat.due' };

export interface SocketInput {
  /** the gateway's connection: the line the socket lives on, the ledger and (unless fixed) the I/O */
  connection: ConnectionRef;
  generation: number;
  url: string;
}

export interface SocketDependencies {
  /** the gateway's `createSocket` with its context already bound */
  createSocket: (url: string) => WebSocketLike;
  protocol: GatewayProtocol;
  /**
   * receives each new op 0 event, READY and RESUMED included, in order, once; called directly, not
   * through the statechart (READY and RESUMED right after the statechart has heard of them)
   */
  onDispatch: (payload: DispatchPayload) => void;
  /** a RESUMED arrived: `replayed` events were delivered between the RESUME and it */
  onResumed?: (replayed: number) => void;
  /** a heartbeat was acknowledged; called from the socket's I/O, not through the statechart */
  onHeartbeat?: (roundTrip: HeartbeatRoundTrip) => void;
  onError: (error: Error) => void;
  /** the outcome of a `send` command: written, failed, or (`retry`) not written at all */
  onSent?: (id: number, error?: Error, retry?: boolean) => void;
  /**
   * Asked before every connection that will IDENTIFY, before its socket opens (an identify queue's
   * turn); never before a RESUME. The signal aborts when the attempt ends first. It may resolve to
   * a handle that hears when the IDENTIFY was sent, or that the attempt ended without sending it.
   */
  beforeIdentify?: (signal: AbortSignal) => Promise<void | IdentifyTurnHandle>;
  /** a compressed transport: each socket gets its own decompression context and the `compress` parameter */
  compression?: TransportCompression;
}

export { GatewayProtocolError };

/**
 * The socket actor: the one owner of one socket, from the moment it creates it until it is CLOSED.
 * The gateway spawns it when a reconnect asks for a socket, and it lives on through the handshake,
 * the ready session and the drain; nothing else reads from the socket or writes to it. It keeps
 * the socket's heartbeat (from HELLO on) and turns the socket's events into coarse statechart
 * events tagged with its generation (open, hello, ready, closed, zombie...); it carries out commands.
 * DISPATCH frames go straight to `onDispatch` through the sequence ledger, so the event stream
 * costs no transition. When the actor stops it detaches its listeners; a socket still open then (a
 * drain that failed) stays on the line with the line's error sink.
 */
export function createSocketActor(fixed?: SocketDependencies) {
  return fromCallback<SocketCommand | HeartbeatDue, SocketInput>(({ input, sendBack, receive, self, system }) => {
    const { line, ledger, io } = connectionOf(input.connection);
    const deps = fixed ?? io;
    if (!deps) throw new Error("the socket actor has no I/O: open the gateway's connection with `io`");
    const { generation } = input;
    const protocol = deps.protocol;
    const compression = deps.compression;
    const emit = (event: SocketEvent) => sendBack(event);
    const create = () => deps.createSocket(compression ? compression.url(input.url) : input.url);
    let socket: WebSocketLike;
    try {
      socket = compression ? line.open(create, compression.createDecompressor) : line.open(create);
    } catch (error) {
      // `ws` refuses some URLs outright. The URL stays out of the message: a resume URL comes from the network.
      if (error instanceof SecondSocketRefused || error instanceof LineSealed) throw error;
      emit({
        type: 'socket.createFailed',
        generation,
        message: `createSocket threw: ${error instanceof Error ? error.message : String(error)}`,
      });
      return;
    }
    const decompressor = compression ? line.decompressor : undefined;
    // The frame is built inside the try too: a protocol binding that throws must not crash the actor.
    const send = (frame: () => string) => {
      try {
        socket.send(frame());
      } catch (error) {
        deps.onError(error instanceof Error ? error : new Error(String(error)));
      }
    };

    // Its heartbeat, from HELLO until the socket is retired or closed, on the actor system's clock.
    const heartbeat = new Heartbeat({
      schedule: (delayMs) => system.scheduler.schedule(self, self, { type: 'heartbeat.due' } satisfies HeartbeatDue, delayMs, 'heartbeat'),
      cancel: () => system.scheduler.cancel(self, 'heartbeat'),
      beat: () => send(() => protocol.heartbeat(ledger.seq)),
      zombie: () => emit({ type: 'socket.zombie', generation }),
      framesReceived: () => line.framesReceived,
      ...(deps.onHeartbeat ? { acked: deps.onHeartbeat } : {}),
    });

    // Until the socket opens, its error is the cause of the failed connection, reported with it.
    let opened = false;
    // Once the gateway says the session is ready on this socket, a READY or RESUMED is stray, and an
    // event older than the last one is news rather than part of a replay.
    let established = false;
    let retired = false;
    // From the RESUME until its RESUMED: how many events the server replayed that were new here.
    let replayed: number | null = null;
    let connectError: { message: string; code?: string } | undefined;
    let socketClosed = false;
    let stopped = false;
    const onOpen = () => {
      opened = true;
      emit({ type: 'socket.open', generation });
    };
    const reportClose = (code: number, reason: unknown) => {
      if (stopped) return;
      emit(
        opened
          ? { type: 'socket.closed', generation, code, reason: String(reason ?? '') }
          : { type: 'socket.closed', generation, code, reason: String(reason ?? ''), opened, error: connectError },
      );
    };
    const onClose = (code: number, reason: unknown) => {
      socketClosed = true;
      heartbeat.stop();
      // A context that inflates off the thread may still hold messages that arrived before the
      // close: they are read first, as they would be on the synchronous path.
      if (decompressor) decompressor.whenSettled(() => reportClose(code, reason));
      else reportClose(code, reason);
    };
    const onError = (error: Error) => {
      if (opened) return deps.onError(error);
      const code = (error as { code?: unknown }).code;
      connectError = typeof code === 'string' ? { message: error.message, code } : { message: error.message };
    };
    const onFrame = (frame: InboundFrame) => {
      // Any frame but an ACK is progress: a handshake that hears only ACKs is still silent.
      line.noteFrame(frame.kind !== 'heartbeatAck');
      switch (frame.kind) {
        case 'dispatch': {
          const last = ledger.seq;
          if (ledger.accept(frame.seq)) {
            if (last !== null && frame.seq > last + 1) deps.onError(sequenceGap(last, frame.seq));
            if (replayed !== null) replayed += 1;
            return deps.onDispatch(frame.payload);
          }
          // A resume replays what may already have been delivered: dropping that is the rule, not news.
          if (established && last !== null) deps.onError(sequenceDropped(frame.payload, last));
          return;
        }
        case 'heartbeatRequest':
          heartbeat.beatNow();
          return;
        // Heartbeats start at the HELLO of the handshake and go on into the ready session; a HELLO
        // after that changes nothing.
        case 'hello':
          if (!established && !heartbeat.running && !socketClosed) heartbeat.start(frame.heartbeatInterval);
          return emit({ type: 'gateway.hello', generation, heartbeatInterval: frame.heartbeatInterval });
        // A READY or RESUMED belongs to a handshake; on a session that is already established it
        // is ignored whole, so a stray one cannot move the ledger and drop the events after it.
        // The statechart hears of it first, so a listener of the READY/RESUMED dispatch finds the
        // gateway ready (its session readable, a payload sent at once).
        case 'ready': {
          if (established) return;
          const fresh = ledger.accept(frame.seq);
          emit({ type: 'gateway.ready', generation, sessionId: frame.sessionId, resumeUrl: frame.resumeUrl });
          if (fresh && frame.payload && !retired && !stopped) deps.onDispatch(frame.payload);
          return;
        }
        case 'resumed': {
          if (established) return;
          const fresh = frame.seq === null || ledger.accept(frame.seq);
          deps.onResumed?.(replayed ?? 0);
          replayed = null;
          emit({ type: 'gateway.resumed', generation });
          if (fresh && frame.payload && !retired && !stopped) deps.onDispatch(frame.payload);
          return;
        }
        // An ACK is the heartbeat's business alone: no statechart event.
        case 'heartbeatAck':
          return heartbeat.ack();
        case 'reconnect':
          return emit({ type: 'gateway.reconnect', generation });
        case 'invalidSession':
          return emit({ type: 'gateway.invalidSession', generation, resumable: frame.resumable });
        case 'malformed':
          deps.onError(new GatewayProtocolError(frame.reason));
          return emit({ type: 'gateway.malformed', generation, reason: frame.reason });
      }
    };
    const onPlainMessage = (data: unknown, isBinary: boolean) => onFrame(decodeSafely(protocol, data, isBinary));
    // Decompression comes before decoding, here in the socket's owner, still off the statechart.
    // Only a whole message (or a broken stream) is proof of life: zlib-stream frames that never
    // reach their end marker must still look like the zombie they are.
    const readCompressed = (stream: Decompressor) => {
      const take = (inflated: Inflated) => {
        if (inflated.kind === 'message') return onFrame(decodeSafely(protocol, inflated.text, false));
        if (inflated.kind === 'broken') return onFrame({ kind: 'malformed', reason: `compressed stream: ${inflated.reason}` });
      };
      // An outcome that comes later means nothing once the socket is retired or its actor stopped.
      stream.listen((outcome) => {
        if (!retired && !stopped) take(outcome);
      });
      return (data: unknown, isBinary: boolean) => take(stream.push(data, isBinary));
    };
    const onMessage = decompressor ? readCompressed(decompressor) : onPlainMessage;

    socket.on('open', onOpen);
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);

    // A command comes in through XState: a throw here (an `onSent` or `onError` of the caller's that
    // throws) would fail the actor and leave its socket with nobody to close it, so it is reported.
    const carryOut = (command: SocketCommand | HeartbeatDue) => {
      switch (command.type) {
        case 'identify':
          return send(() => protocol.identify());
        case 'resume':
          replayed = 0;
          return send(() => protocol.resume(command.sessionId, ledger.seq));
        case 'heartbeat.due':
          return heartbeat.due();
        case 'sessionReady':
          established = true;
          return;
        case 'retire':
          // What a retired socket still sends is no longer the session's: no dispatch, no reply, no error.
          retired = true;
          heartbeat.stop();
          socket.off('message', onMessage);
          socket.off('error', onError);
          return;
        case 'send':
          if (retired || socket.readyState !== SocketState.OPEN) {
            return deps.onSent?.(command.id, new Error('the socket closed before the payload was written'), true);
          }
          try {
            return socket.send(command.data, (error) => deps.onSent?.(command.id, error ?? undefined));
          } catch (error) {
            return deps.onSent?.(command.id, error instanceof Error ? error : new Error(String(error)));
          }
      }
    };
    receive((command) => {
      try {
        carryOut(command);
      } catch (error) {
        try {
          deps.onError(error instanceof Error ? error : new Error(String(error)));
        } catch {
          // The error sink itself threw: nothing is left to report to.
        }
      }
    });

    return () => {
      stopped = true;
      heartbeat.stop();
      socket.off('open', onOpen);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
  });
}

/** The server skipped sequence numbers: the events in between never arrived (a warning; nothing stops). */
function sequenceGap(last: number, seq: number): GatewayError {
  const missing = seq - last - 1 === 1 ? `event ${last + 1} is` : `events ${last + 1}–${seq - 1} are`;
  return new GatewayError('SEQUENCE_GAP', `sequence jumped from ${last} to ${seq}: ${missing} missing`);
}

/** An event came after a later one: delivering it now would break the order, so it is dropped. */
function sequenceDropped(payload: DispatchPayload, last: number): GatewayError {
  return new GatewayError('SEQUENCE_DROPPED', `event ${payload.s} (${payload.t}) arrived after ${last} and was dropped`);
}

function decodeSafely(protocol: GatewayProtocol, data: unknown, isBinary: boolean): InboundFrame {
  try {
    return protocol.decode(data, isBinary);
  } catch (error) {
    return { kind: 'malformed', reason: `decoder threw: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The socket actor that takes its I/O from its connection, shared by every gateway. */
export const socketActor = createSocketActor();

/** Placeholder named in the gateway's setup(); real logic comes from `createSocketActor`. */
export const socketNotProvided = fromCallback<SocketCommand | HeartbeatDue, SocketInput>(() => {
  throw new Error('the socket actor was not provided: build the machine with createGatewayMachine()');
});
