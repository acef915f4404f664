import type { CompressionOption } from '../compression/transportCompression.ts';
import type { SupervisorOptions } from '../machines/supervisorMachine.ts';
import type { OutboxOptions } from '../outbox.ts';
import type { BackoffOptions, Timeouts } from '../types.ts';

/**
 * Every default of the package, in one place. README's "Defaults" table lists the same values; each
 * option that is left out takes its value from here.
 */

/** How long each step of a connection may take before the recovery table is asked what follows. */
export const defaultTimeouts: Timeouts = {
  connect: 10_000,
  hello: 30_000,
  ready: 15_000,
  drain: 5_000,
  terminateGrace: 1_000,
  stable: 5_000,
};

/** Full-jitter backoff between attempts, and the wait after op 9 INVALID_SESSION. */
export const defaultBackoff: BackoffOptions = {
  baseMs: 1_000,
  maxMs: 60_000,
  invalidSessionMinMs: 1_000,
  invalidSessionMaxMs: 5_000,
};

/** Outgoing user payloads: Discord allows 120 sends a minute per connection, 4 KiB each. */
export const defaultOutboxOptions: OutboxOptions = {
  maxQueued: 1_000,
  maxPayloadBytes: 4_096,
  sendsPerWindow: 120,
  reservedSends: 10,
  windowMs: 60_000,
};

/** superviseGateway's restart budget and cooldowns. */
export const defaultSupervisorOptions: SupervisorOptions = {
  maxRestarts: 5,
  windowMs: 10 * 60_000,
  cooldownBaseMs: 1_000,
  cooldownMaxMs: 60_000,
};

/** See README "Compression" for why. */
export const defaultCompression: CompressionOption = 'none';

/** Discord's own limit on a frame is far below this; anything larger is hostile or broken. */
export const defaultMaxPayload = 16 * 1024 * 1024;

/** An identify bucket's window: Discord lets `max_concurrency` IDENTIFYs through every 5 s. */
export const defaultIdentifyWindowMs = 5_000;

/** The Redis stores: how long a stored session lives without a write, how long a command may take, the longest retry wait. */
export const defaultRedisSessionTtlMs = 300_000;
export const defaultRedisTimeoutMs = 2_000;
export const defaultRedisMaxBackoffMs = 5_000;

/** The longest a session store may take to answer one call (a read at start, a write) before it is reported and given up. */
export const defaultSessionStoreTimeoutMs = 10_000;
