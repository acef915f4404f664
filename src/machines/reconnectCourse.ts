import type { BackoffOptions, Timeouts } from '../types.ts';
import type { SocketEvent } from './events.ts';
import { retryDelayMs, type RecoveryTrigger, type RetryDelay } from '../core/recovery.ts';
import { connectionOf, type ConnectionRef } from '../connection/connection.ts';
import type { DrainInput, DrainOutput } from './drainMachine.ts';
import type { IdentifyTurnEvent } from '../actors/identifyTurn.ts';

/**
 * What the fresh and resume reconnect actors have in common: their input, their result, their
 * timers and the way they turn a socket event into a recovery trigger. Their handshakes (and so
 * their guarantees) live in their own files.
 */

export interface ReconnectInput {
  /** the gateway's connection: its line, ledger and I/O, handed on to the socket and drain actors */
  connection: ConnectionRef;
  /** generation of the socket this reconnect will open */
  generation: number;
  url: string;
  delay: RetryDelay;
  /** the wait, when the gateway already drew it; otherwise drawn here from `delay` */
  delayMs?: number;
  drain: 'close' | 'terminate';
  /** reconnects since the session was last stable, for backoff */
  attempt: number;
  timeouts: Timeouts;
  backoff: BackoffOptions;
  /** the session to resume; a fresh reconnect is given none, so it has nothing it could resume */
  sessionId?: string;
}

export type ReconnectOutput =
  | {
      ok: true;
      handshake: 'identify' | 'resume';
      heartbeatInterval: number;
      /** set by a fresh session; a resume keeps the session it had */
      session?: { sessionId: string; resumeUrl: string | null };
    }
  | { ok: false; trigger: RecoveryTrigger };

export interface ReconnectContext extends ReconnectInput {
  outcome: ReconnectOutput;
  heartbeatInterval: number;
  /** the line's progress frames when the handshake's silence was last checked */
  progressAtCheck: number;
}

export function reconnectContext(input: ReconnectInput): ReconnectContext {
  return {
    ...input,
    heartbeatInterval: 0,
    progressAtCheck: 0,
    outcome: { ok: false, trigger: { type: 'socketFailure', message: 'unfinished' } },
  };
}

export function drainInput(context: ReconnectContext, code: number): DrainInput {
  return {
    connection: context.connection,
    code,
    terminateAtOnce: context.drain === 'terminate',
    drainTimeout: context.timeouts.drain,
    terminateGrace: context.timeouts.terminateGrace,
  };
}

export const reconnectDelays = {
  retryDelay: ({ context }: { context: ReconnectContext }) =>
    context.delayMs ?? retryDelayMs(context.delay, context.attempt, context.backoff),
  connectTimeout: ({ context }: { context: ReconnectContext }) => context.timeouts.connect,
  helloTimeout: ({ context }: { context: ReconnectContext }) => context.timeouts.hello,
  readyTimeout: ({ context }: { context: ReconnectContext }) => context.timeouts.ready,
};

export const reconnectGuards = {
  fromThisSocket: ({ context, event }: { context: ReconnectContext; event: { type: string } }) =>
    'generation' in event && event.generation === context.generation,
  drained: ({ event }: { event: { type: string } }) => 'output' in event && (event.output as DrainOutput | undefined)?.drained === true,
  // Any frame but a heartbeat ACK since the last check: a replay in progress is not a stall.
  heardSinceCheck: ({ context }: { context: ReconnectContext }) =>
    connectionOf(context.connection).line.progressFrames !== context.progressAtCheck,
};

/** What a reconnect receives: its socket's events (relayed by the gateway), its identify turn, its own silence checks. */
export type ReconnectEvent = SocketEvent | IdentifyTurnEvent | { type: 'handshake.silenceCheck' };

/** The recovery trigger for a socket event that ends a handshake early. */
export function triggerFor(event: ReconnectEvent, context?: ReconnectContext): RecoveryTrigger {
  switch (event.type) {
    case 'socket.closed':
      // A socket that never opened says why in its error (ECONNREFUSED, ENOTFOUND...), not its code.
      if (event.opened === false) {
        return { type: 'connectFailed', stage: 'connect', cause: event.error ?? { message: `closed (${event.code}) before it opened` } };
      }
      // The heartbeat interval comes with HELLO: none yet means the server closed before HELLO.
      if (context && context.heartbeatInterval === 0) return { type: 'close', code: event.code, reason: event.reason, beforeHello: true };
      return { type: 'close', code: event.code, reason: event.reason };
    // A socket that could not be made is a failed connection too.
    case 'socket.createFailed':
      return { type: 'connectFailed', stage: 'create', cause: { message: event.message } };
    case 'socket.zombie':
      return { type: 'zombie' };
    case 'gateway.malformed':
      return { type: 'protocolError', reason: event.reason };
    case 'gateway.reconnect':
      return { type: 'reconnectRequested' };
    case 'gateway.invalidSession':
      return { type: 'invalidSession', resumable: event.resumable };
    default:
      return { type: 'protocolError', reason: `unexpected ${event.type} during the handshake` };
  }
}

export function failure(trigger: RecoveryTrigger): ReconnectOutput {
  return { ok: false, trigger };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
