/**
 * The few shapes every layer agrees on: what a socket must look like, what a protocol binding
 * must provide, and the frames a binding decodes to. Nothing here performs I/O.
 */
import type { GatewayDispatchPayload } from 'discord-api-types/gateway/v10';

/** WebSocket readyState values, as in the WHATWG spec and `ws`. */
export const SocketState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/**
 * The part of a `ws` WebSocket the engine uses. Any object with these members can stand in for it
 * (`createSocket` option), which is how tests build sockets that misbehave on purpose.
 */
export interface WebSocketLike {
  readonly readyState: number;
  /** `done` reports the write; `ws` calls it with an error when the socket could not write */
  send(data: string, done?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'open' | 'message' | 'close' | 'error', listener: (...args: never[]) => void): unknown;
}

/** What a socket is for, given to `createSocket` beside the URL. */
export interface SocketContext {
  /** the shard the socket serves (from the protocol's `shard`), or null for an unsharded gateway */
  readonly shardId: number | null;
}

/**
 * Builds one socket. The engine always passes the context; it is optional in the type so that a
 * function of the URL alone, and code that calls one with the URL alone, stay as they were.
 */
export type CreateSocket = (url: string, context?: SocketContext) => WebSocketLike;

/** A frame from the server, decoded and validated by a protocol binding. */
export type InboundFrame =
  | { kind: 'hello'; heartbeatInterval: number }
  | { kind: 'ready'; seq: number; sessionId: string; resumeUrl: string | null; payload?: DispatchPayload }
  | { kind: 'resumed'; seq: number | null; payload?: DispatchPayload }
  | { kind: 'dispatch'; seq: number; payload: DispatchPayload }
  | { kind: 'heartbeatAck' }
  | { kind: 'heartbeatRequest' }
  | { kind: 'reconnect' }
  | { kind: 'invalidSession'; resumable: boolean }
  | { kind: 'malformed'; reason: string };

/**
 * An op 0 event as delivered to `on('dispatch')`: discord-api-types' `GatewayDispatchPayload`, so
 * checking `t` narrows `d` (`if (p.t === 'MESSAGE_CREATE') p.d.content`). The binding checks `op`,
 * `t` and `s` and hands `d` on as the server sent it; an event newer than the installed
 * discord-api-types arrives too, in the same shape, under a name the union does not list.
 */
export type DispatchPayload = GatewayDispatchPayload;

/**
 * A protocol binding: how to read the server's frames and how to write the client's. The binding
 * holds the credentials, so they never enter the statechart's context or snapshots.
 */
export interface GatewayProtocol {
  readonly name: string;
  /** `[shardId, shardCount]` when the binding identifies as one shard (Discord's IDENTIFY `shard`) */
  readonly shard?: readonly [number, number];
  decode(data: unknown, isBinary: boolean): InboundFrame;
  identify(): string;
  resume(sessionId: string, seq: number | null): string;
  heartbeat(seq: number | null): string;
  encode(payload: unknown): string;
}

/** Timeouts in milliseconds. */
export interface Timeouts {
  /** socket open must complete within this */
  connect: number;
  /** HELLO must arrive within this after open */
  hello: number;
  /** READY (after IDENTIFY) or RESUMED (after RESUME) must arrive within this */
  ready: number;
  /** a closing socket must emit `close` within this, or it is terminated */
  drain: number;
  /** after terminate(), `close` must arrive within this, or the engine fails closed */
  terminateGrace: number;
  /** a session that stays ready this long is stable: the next fault retries at once */
  stable: number;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** op 9 INVALID_SESSION waits a random time in [minMs, maxMs] */
  invalidSessionMinMs: number;
  invalidSessionMaxMs: number;
}

/**
 * What an identify gate may answer with, so that it can measure a bucket's window from the moment
 * the IDENTIFY left rather than from the grant (the socket opens in between), and take back a turn
 * that was not used. Exactly one of the two is called, once.
 */
export interface IdentifyTurnHandle {
  /** the IDENTIFY was written to the socket */
  sent(): void;
  /** the attempt ended (a failed connection, a stop) before any IDENTIFY was sent */
  release(): void;
}
