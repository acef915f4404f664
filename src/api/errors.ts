import type { TriggerCode } from '../core/recovery.ts';
import type { OutboxError, OutboxErrorCode } from '../outbox.ts';

/**
 * Every `code` a GatewayError can have. The fault codes are the names of the recovery triggers
 * (`state` events carry the same name in `code`):
 *
 * - `CONNECT_FAILED`: the socket never opened (refused, DNS, TLS; `cause.code` has the OS code),
 *   or no socket could be created for the URL
 * - `CONNECT_TIMEOUT`, `HELLO_TIMEOUT`, `READY_TIMEOUT` (no READY/RESUMED, with nothing received
 *   for `timeouts.ready`), `ZOMBIE` (nothing received for a heartbeat interval)
 * - `SOCKET_CLOSED` (`closeCode`, `closeReason`), `AUTH_FAILED` (close 4004) and `FATAL_CLOSE`
 *   (4010–4014), `PROTOCOL_ERROR`, `INVALID_SESSION`, `DRAIN_FAILED`, `SOCKET_FAILURE`
 * - `RESUME_URL_REJECTED`: READY's resume_gateway_url was not used (the main URL is)
 * - `SEQUENCE_GAP`: the server skipped sequence numbers; `SEQUENCE_DROPPED`: an event came after a
 *   later one and was not delivered
 * - `FAILED`, `STOPPED`: the gateway ended before what was awaited; `NOT_STARTED`: reconnect() before start()
 * - `ACTOR_FAILED`, `LISTENER_THREW`, `INSPECTOR_THREW`, `BREAKER_OPEN` (superviseGateway)
 * - outbox: `PAYLOAD_TOO_LARGE`, `QUEUE_FULL`, `SESSION_RESET`, `SEND_FAILED`, `ENCODE_FAILED`
 * - `SOCKET_ERROR`: the open socket reported an error (`cause` is the socket's own), or a protocol
 *   binding threw while building a frame
 */
export type GatewayErrorCode =
  | Exclude<TriggerCode, 'START' | 'RECONNECT_REQUESTED' | 'USER_RECONNECT'>
  | 'RESUME_URL_REJECTED'
  | 'SEQUENCE_GAP'
  | 'SEQUENCE_DROPPED'
  | 'FAILED'
  | 'STOPPED'
  | 'NOT_STARTED'
  | 'ACTOR_FAILED'
  | 'LISTENER_THREW'
  | 'INSPECTOR_THREW'
  | 'BREAKER_OPEN'
  | 'ENCODE_FAILED'
  | 'SOCKET_ERROR'
  | OutboxErrorCode;

export interface GatewayErrorDetails {
  /** the number of the attempt that follows this failure (1 = the first after a stable session) */
  attempt?: number;
  /** how long until that attempt, in ms */
  retryInMs?: number;
  closeCode?: number;
  closeReason?: string;
  /** the underlying error, e.g. `{ code: 'ENOTFOUND', message }` */
  cause?: unknown;
}

/** An error reported by the gateway. `code` names the kind; the engine keeps running unless it is fatal. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly attempt?: number;
  readonly retryInMs?: number;
  readonly closeCode?: number;
  readonly closeReason?: string;
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    details: GatewayErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    if (details.attempt !== undefined) this.attempt = details.attempt;
    if (details.retryInMs !== undefined) this.retryInMs = details.retryInMs;
    if (details.closeCode !== undefined) this.closeCode = details.closeCode;
    if (details.closeReason !== undefined) this.closeReason = details.closeReason;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Marks a promise as observed, so a caller who ignores it never gets an unhandled rejection. */
export function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** An error in what the server sent (a frame the protocol binding could not read). */
export class GatewayProtocolError extends Error {
  override readonly name = 'GatewayProtocolError';
  readonly code = 'PROTOCOL_ERROR' as const;
}

/**
 * Everything `on('error')` delivers: each has a `code` (GatewayError's, OutboxError's, or
 * `PROTOCOL_ERROR`), so `switch (error.code)` type-checks and narrows.
 */
export type LifelineError = GatewayError | GatewayProtocolError | OutboxError;

const libraryErrorNames = new Set(['GatewayError', 'GatewayProtocolError', 'OutboxError']);

/**
 * The error as `on('error')` delivers it: the library's own as they are, anything else (a socket's
 * error, a throw from a protocol binding) as a GatewayError `SOCKET_ERROR` with the original as `cause`.
 */
export function asLifelineError(error: Error): LifelineError {
  if (libraryErrorNames.has(error.name) && typeof (error as { code?: unknown }).code === 'string') return error as LifelineError;
  return new GatewayError('SOCKET_ERROR', error.message, { cause: error });
}
