import { GatewayCloseCodes } from 'discord-api-types/gateway/v10';
import type { BackoffOptions } from '../types.ts';

/**
 * The recovery table of the Discord gateway v10, in one place. Every fault the engine can see is
 * first turned into a trigger; `decideRecovery` maps it to what happens next. Nothing else in the
 * engine chooses between resume, fresh and giving up.
 */

/** An OS-level error, kept as plain data (the statechart's context holds data only). */
export interface ErrorCause {
  message: string;
  /** e.g. ECONNREFUSED, ENOTFOUND */
  code?: string;
}

export type RecoveryTrigger =
  | { type: 'start' }
  /** `beforeHello`: the socket opened but closed before the server said HELLO */
  | { type: 'close'; code: number; reason?: string; beforeHello?: boolean }
  /**
   * The socket never opened: refused, DNS, TLS (`connect`), or a socket could not even be created
   * for the URL (`create`)
   */
  | { type: 'connectFailed'; stage: 'connect' | 'create'; cause: ErrorCause }
  | { type: 'connectTimeout' }
  | { type: 'helloTimeout' }
  | { type: 'readyTimeout'; handshake: 'identify' | 'resume' }
  | { type: 'zombie' }
  | { type: 'reconnectRequested' }
  | { type: 'invalidSession'; resumable: boolean }
  | { type: 'protocolError'; reason: string }
  | { type: 'userReconnect'; fresh: boolean }
  | { type: 'drainFailed' }
  | { type: 'identifyPermitFailed'; message: string }
  | { type: 'socketFailure'; message: string };

/** How long to wait before the next socket opens. */
export type RetryDelay = 'none' | 'backoff' | 'rateLimited' | 'invalidSession';

export type RecoveryPlan =
  | {
      action: 'fresh' | 'resume';
      delay: RetryDelay;
      /** zombie sockets are terminated at once instead of waiting for a close handshake */
      drain: 'close' | 'terminate';
      trigger: RecoveryTrigger;
      /** `main`: resume on the main URL, because the resume URL failed (see `resumeUrlFailuresBeforeMain`) */
      url?: 'main';
      /** set by the gateway: the number of the attempt that follows, and its wait in ms */
      attempt?: number;
      delayMs?: number;
    }
  | { action: 'fatal' | 'failClosed'; trigger: RecoveryTrigger; message: string };

/** What the decision needs to know about the session's recent history. */
export interface RecoveryHistory {
  hasSession: boolean;
  /** HELLO stalls in a row, not counting this trigger */
  helloStalls: number;
  /** READY/RESUMED timeouts in a row, not counting this trigger */
  readyFailures: number;
  /** the session has a resume URL of its own, apart from the main URL */
  hasResumeUrl?: boolean;
  /**
   * failed connections in a row (refused, connect timeout, no HELLO) of resumes aimed at the
   * resume URL, or at the main URL after falling back from it; not counting this trigger
   */
  resumeUrlFailures?: number;
}

/** WebSocket close codes (RFC 6455): a normal close, a peer going away, a close without a close frame. */
const normalClosure = 1000;
const goingAway = 1001;
const abnormalClosure = 1006;

export const resumableCloseCodes = new Set<number>([
  normalClosure,
  goingAway,
  abnormalClosure,
  GatewayCloseCodes.UnknownError,
  GatewayCloseCodes.UnknownOpcode,
  GatewayCloseCodes.DecodeError,
  GatewayCloseCodes.AlreadyAuthenticated,
  GatewayCloseCodes.RateLimited,
]);
export const freshCloseCodes = new Set<number>([
  GatewayCloseCodes.NotAuthenticated,
  GatewayCloseCodes.InvalidSeq,
  GatewayCloseCodes.SessionTimedOut,
]);
export const fatalCloseCodes = new Map<number, string>([
  [GatewayCloseCodes.AuthenticationFailed, 'authentication failed (4004): the token is invalid'],
  [GatewayCloseCodes.InvalidShard, 'invalid shard (4010)'],
  [GatewayCloseCodes.ShardingRequired, 'sharding required (4011)'],
  [GatewayCloseCodes.InvalidAPIVersion, 'invalid API version (4012)'],
  [GatewayCloseCodes.InvalidIntents, 'invalid intents (4013)'],
  [GatewayCloseCodes.DisallowedIntents, 'disallowed intents (4014): enable them for the application first'],
]);

/**
 * The fatal closes that one shard hears for its whole fleet: every shard of a manager IDENTIFYs
 * with the same token, intents and gateway version, so the same refusal awaits each of them, and
 * each IDENTIFY on the way spends the daily budget. On one of these a fleet stops every identify
 * and fails with that reason.
 *
 * - 4004 authentication failed: the token is invalid (or was reset).
 * - 4012 invalid API version: the `v` every shard connects with.
 * - 4013 invalid intents, 4014 disallowed intents: the intents are the application's, and every
 *   shard sends the same.
 *
 * Not here, because they concern one shard's IDENTIFY rather than what the shards share: 4010
 * invalid shard (that shard's `[id, count]`) and 4011 sharding required (that shard's share of the
 * guilds; its siblings may well connect). Such a shard fails alone.
 */
export const fleetFatalCloseCodes: ReadonlySet<number> = new Set<number>([
  GatewayCloseCodes.AuthenticationFailed,
  GatewayCloseCodes.InvalidAPIVersion,
  GatewayCloseCodes.InvalidIntents,
  GatewayCloseCodes.DisallowedIntents,
]);

/** The third HELLO stall in a row gives up on the session. */
export const helloStallsBeforeFresh = 3;
/** The second READY/RESUMED timeout in a row gives up on the gateway. */
export const readyFailuresBeforeFailing = 2;
/** The second failed connection in a row to the resume URL resumes on the main URL instead... */
export const resumeUrlFailuresBeforeMain = 2;
/** ...and when that fails too, the session is given up for a fresh IDENTIFY on the main URL. */
export const resumeUrlFailuresBeforeFresh = 3;

/** A connection that never got as far as HELLO: it says nothing about the session, only the host. */
export function isConnectionFailure(trigger: RecoveryTrigger): boolean {
  return (
    trigger.type === 'connectFailed' ||
    trigger.type === 'connectTimeout' ||
    trigger.type === 'helloTimeout' ||
    (trigger.type === 'close' && trigger.beforeHello === true)
  );
}

/**
 * Discord: a session that cannot resume on its resume URL reconnects to the main URL. The second
 * failed connection in a row to the resume URL (or the first socket that cannot even be created for
 * it) resumes on the main URL; a failure there too starts a fresh session. Null when the rule does
 * not apply and the rest of the table decides.
 */
function resumeUrlRule(trigger: RecoveryTrigger, history: RecoveryHistory): RecoveryPlan | null {
  const resumeUrlFailures = history.resumeUrlFailures ?? 0;
  if (!history.hasSession || !isConnectionFailure(trigger)) return null;
  // A close code that decides by itself (fatal, or fresh) keeps its own row of the table.
  if (trigger.type === 'close' && (fatalCloseCodes.has(trigger.code) || freshCloseCodes.has(trigger.code))) return null;
  if (!history.hasResumeUrl && resumeUrlFailures === 0) return null;
  const failures =
    trigger.type === 'connectFailed' && trigger.stage === 'create'
      ? Math.max(resumeUrlFailures + 1, resumeUrlFailuresBeforeMain)
      : resumeUrlFailures + 1;
  if (failures >= resumeUrlFailuresBeforeFresh) return { action: 'fresh', delay: 'backoff', drain: 'close', trigger };
  if (failures >= resumeUrlFailuresBeforeMain) return { action: 'resume', delay: 'backoff', drain: 'close', trigger, url: 'main' };
  return null;
}

export function decideRecovery(trigger: RecoveryTrigger, history: RecoveryHistory): RecoveryPlan {
  const resumeOrFresh = (delay: RetryDelay, drain: 'close' | 'terminate' = 'close'): RecoveryPlan => ({
    action: history.hasSession ? 'resume' : 'fresh',
    delay,
    drain,
    trigger,
  });
  const fresh = (delay: RetryDelay): RecoveryPlan => ({ action: 'fresh', delay, drain: 'close', trigger });
  const resumeUrlPlan = resumeUrlRule(trigger, history);
  if (resumeUrlPlan) return resumeUrlPlan;

  switch (trigger.type) {
    // A session handed in at creation (restored from a store) is resumed; the server's op 9 sends
    // it on to a fresh IDENTIFY when the session has expired.
    case 'start':
      return resumeOrFresh('none');
    case 'close': {
      const fatal = fatalCloseCodes.get(trigger.code);
      if (fatal) return { action: 'fatal', trigger, message: `gateway closed the session: ${fatal}` };
      if (freshCloseCodes.has(trigger.code)) return fresh('backoff');
      return resumeOrFresh(trigger.code === GatewayCloseCodes.RateLimited ? 'rateLimited' : 'backoff');
    }
    // A socket that cannot be created for the main URL would fail the same way every time.
    case 'connectFailed':
      if (trigger.stage === 'create') return { action: 'fatal', trigger, message: `could not create a socket: ${trigger.cause.message}` };
      return resumeOrFresh('backoff');
    case 'connectTimeout':
    case 'protocolError':
      return resumeOrFresh('backoff');
    // The identify queue could not grant a turn; the next fresh attempt asks it again.
    case 'identifyPermitFailed':
      return fresh('backoff');
    case 'helloTimeout':
      return history.helloStalls + 1 >= helloStallsBeforeFresh ? fresh('backoff') : resumeOrFresh('backoff');
    case 'readyTimeout':
      if (history.readyFailures + 1 >= readyFailuresBeforeFailing) {
        return {
          action: 'fatal',
          trigger,
          message: `no ${trigger.handshake === 'identify' ? 'READY' : 'RESUMED'} after ${readyFailuresBeforeFailing} handshakes in a row`,
        };
      }
      return fresh('backoff');
    case 'zombie':
      return resumeOrFresh('backoff', 'terminate');
    case 'reconnectRequested':
      return resumeOrFresh('none');
    case 'invalidSession':
      return trigger.resumable ? resumeOrFresh('invalidSession') : fresh('invalidSession');
    case 'userReconnect':
      return trigger.fresh ? fresh('none') : resumeOrFresh('none');
    case 'drainFailed':
      return {
        action: 'failClosed',
        trigger,
        message: 'the old socket did not close even after terminate(); no new socket is opened beside it',
      };
    // Not fail-closed: a socket may be open (an actor crashed mid-session); `closing` drains it first.
    case 'socketFailure':
      return { action: 'fatal', trigger, message: `socket failure: ${trigger.message}` };
  }
}

/** A human-readable account of a trigger, for state events and errors. */
export function describeTrigger(trigger: RecoveryTrigger): string {
  switch (trigger.type) {
    case 'start':
      return 'start';
    case 'close':
      return `socket closed (${trigger.code}${trigger.reason ? `: ${trigger.reason}` : ''})${trigger.beforeHello ? ' before HELLO' : ''}`;
    case 'connectFailed':
      return trigger.stage === 'create'
        ? `could not create a socket: ${trigger.cause.message}`
        : `could not connect (${trigger.cause.code ? `${trigger.cause.code}: ` : ''}${trigger.cause.message})`;
    case 'connectTimeout':
      return 'socket did not open in time';
    case 'helloTimeout':
      return 'no HELLO in time';
    case 'readyTimeout':
      return `no ${trigger.handshake === 'identify' ? 'READY' : 'RESUMED'} in time`;
    case 'zombie':
      return 'heartbeat not acknowledged (zombie connection)';
    case 'reconnectRequested':
      return 'server asked to reconnect (op 7)';
    case 'invalidSession':
      return `session invalidated (op 9, resumable: ${trigger.resumable})`;
    case 'protocolError':
      return `bad frame: ${trigger.reason}`;
    case 'userReconnect':
      return trigger.fresh ? 'reconnect({ fresh: true }) requested' : 'reconnect() requested';
    case 'drainFailed':
      return 'old socket never closed';
    case 'identifyPermitFailed':
      return `no turn to IDENTIFY: ${trigger.message}`;
    case 'socketFailure':
      return `socket failure: ${trigger.message}`;
  }
}

/** Triggers that mean something went wrong, as opposed to the server or the user asking for a reconnect. */
export function isFault(trigger: RecoveryTrigger): boolean {
  return !['start', 'reconnectRequested', 'invalidSession', 'userReconnect'].includes(trigger.type);
}

/**
 * Milliseconds to wait before reconnecting. `attempt` numbers this reconnect among those since the
 * session was last stable, from 1: the first goes at once, later ones use full jitter.
 */
export function retryDelayMs(delay: RetryDelay, attempt: number, backoff: BackoffOptions, random: () => number = Math.random): number {
  switch (delay) {
    case 'none':
      return 0;
    case 'invalidSession':
      return backoff.invalidSessionMinMs + random() * (backoff.invalidSessionMaxMs - backoff.invalidSessionMinMs);
    case 'rateLimited':
      return fullJitter(Math.max(attempt - 1, 1), backoff, random);
    case 'backoff':
      return attempt <= 1 ? 0 : fullJitter(attempt - 1, backoff, random);
  }
}

function fullJitter(attempt: number, backoff: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  return random() * ceiling;
}

/**
 * The name of each trigger, as it appears in `error` events (GatewayError `code`) and in `state`
 * events (`code`). Triggers that are requests rather than faults have names too, for state events.
 */
export type TriggerCode =
  | 'START'
  | 'SOCKET_CLOSED'
  | 'AUTH_FAILED'
  | 'FATAL_CLOSE'
  | 'CONNECT_FAILED'
  | 'CONNECT_TIMEOUT'
  | 'HELLO_TIMEOUT'
  | 'READY_TIMEOUT'
  | 'ZOMBIE'
  | 'RECONNECT_REQUESTED'
  | 'INVALID_SESSION'
  | 'PROTOCOL_ERROR'
  | 'USER_RECONNECT'
  | 'DRAIN_FAILED'
  | 'IDENTIFY_TURN_FAILED'
  | 'SOCKET_FAILURE';

export function triggerCode(trigger: RecoveryTrigger): TriggerCode {
  switch (trigger.type) {
    case 'start':
      return 'START';
    case 'close':
      if (trigger.code === GatewayCloseCodes.AuthenticationFailed) return 'AUTH_FAILED';
      return fatalCloseCodes.has(trigger.code) ? 'FATAL_CLOSE' : 'SOCKET_CLOSED';
    case 'connectFailed':
      return 'CONNECT_FAILED';
    case 'connectTimeout':
      return 'CONNECT_TIMEOUT';
    case 'helloTimeout':
      return 'HELLO_TIMEOUT';
    case 'readyTimeout':
      return 'READY_TIMEOUT';
    case 'zombie':
      return 'ZOMBIE';
    case 'reconnectRequested':
      return 'RECONNECT_REQUESTED';
    case 'invalidSession':
      return 'INVALID_SESSION';
    case 'protocolError':
      return 'PROTOCOL_ERROR';
    case 'userReconnect':
      return 'USER_RECONNECT';
    case 'drainFailed':
      return 'DRAIN_FAILED';
    case 'identifyPermitFailed':
      return 'IDENTIFY_TURN_FAILED';
    case 'socketFailure':
      return 'SOCKET_FAILURE';
  }
}
