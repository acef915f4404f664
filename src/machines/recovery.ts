import type { BackoffOptions } from '../types.ts';

/**
 * The recovery table of the Discord gateway v10, in one place. Every fault the engine can see is
 * first turned into a trigger; `decideRecovery` maps it to what happens next. Nothing else in the
 * engine chooses between resume, fresh and giving up.
 */

export type RecoveryTrigger =
  | { type: 'start' }
  | { type: 'close'; code: number; reason?: string }
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
    }
  | { action: 'fatal' | 'failClosed'; trigger: RecoveryTrigger; message: string };

/** What the decision needs to know about the session's recent history. */
export interface RecoveryHistory {
  hasSession: boolean;
  /** HELLO stalls in a row, not counting this trigger */
  helloStalls: number;
  /** READY/RESUMED timeouts in a row, not counting this trigger */
  readyFailures: number;
}

export const resumableCloseCodes = new Set([1000, 1001, 1006, 4000, 4001, 4002, 4005, 4008]);
export const freshCloseCodes = new Set([4003, 4007, 4009]);
export const fatalCloseCodes = new Map<number, string>([
  [4004, 'authentication failed (4004): the token is invalid'],
  [4010, 'invalid shard (4010)'],
  [4011, 'sharding required (4011)'],
  [4012, 'invalid API version (4012)'],
  [4013, 'invalid intents (4013)'],
  [4014, 'disallowed intents (4014): enable them for the application first'],
]);

/** The third HELLO stall in a row gives up on the session. */
export const helloStallsBeforeFresh = 3;
/** The second READY/RESUMED timeout in a row gives up on the gateway. */
export const readyFailuresBeforeFailing = 2;

export function decideRecovery(trigger: RecoveryTrigger, history: RecoveryHistory): RecoveryPlan {
  const resumeOrFresh = (delay: RetryDelay, drain: 'close' | 'terminate' = 'close'): RecoveryPlan => ({
    action: history.hasSession ? 'resume' : 'fresh',
    delay,
    drain,
    trigger,
  });
  const fresh = (delay: RetryDelay): RecoveryPlan => ({ action: 'fresh', delay, drain: 'close', trigger });

  switch (trigger.type) {
    // A session handed in at creation (restored from a store) is resumed; the server's op 9 sends
    // it on to a fresh IDENTIFY when the session has expired.
    case 'start':
      return resumeOrFresh('none');
    case 'close': {
      const fatal = fatalCloseCodes.get(trigger.code);
      if (fatal) return { action: 'fatal', trigger, message: `gateway closed the session: ${fatal}` };
      if (freshCloseCodes.has(trigger.code)) return fresh('backoff');
      return resumeOrFresh(trigger.code === 4008 ? 'rateLimited' : 'backoff');
    }
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
      return `socket closed (${trigger.code}${trigger.reason ? `: ${trigger.reason}` : ''})`;
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
export function retryDelayMs(
  delay: RetryDelay,
  attempt: number,
  backoff: BackoffOptions,
  random: () => number = Math.random,
): number {
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
