import { socketOptionsProblem } from '../adapters/ws.ts';
import type { GatewayOptions } from './createGateway.ts';
import type { SupervisorOptions } from '../machines/supervisorMachine.ts';
import { defaultOutboxOptions } from '../core/defaults.ts';
import { maxTimerMs } from '../core/validation.ts';
import { compressionOptions, resolveCompression, type CompressionOption } from '../compression/transportCompression.ts';

const timeoutNames = ['connect', 'hello', 'ready', 'drain', 'terminateGrace', 'stable'] as const;
const backoffNames = ['baseMs', 'maxMs', 'invalidSessionMinMs', 'invalidSessionMaxMs'] as const;
const outboxNames = ['maxQueued', 'maxPayloadBytes', 'sendsPerWindow', 'reservedSends', 'windowMs'] as const;
/** outbox options that count things rather than measure time */
const outboxCounts = new Set(['maxQueued', 'maxPayloadBytes', 'sendsPerWindow', 'reservedSends']);
const supervisorNames = ['maxRestarts', 'windowMs', 'cooldownBaseMs', 'cooldownMaxMs'] as const;

type Fail = (message: string) => never;

const failFor =
  (entry: string): Fail =>
  (message) => {
    throw new TypeError(`${entry}: ${message}`);
  };

function checkGroup(fail: Fail, group: string, values: unknown, names: readonly string[], check: (name: string, value: unknown) => void) {
  if (values === undefined) return;
  if (typeof values !== 'object' || values === null) fail(`${group} must be an object`);
  for (const [name, value] of Object.entries(values)) {
    if (!names.includes(name)) fail(`unknown ${group} option ${JSON.stringify(name)} (known: ${names.join(', ')})`);
    if (value !== undefined) check(name, value);
  }
}

function checkDuration(fail: Fail, option: string, value: unknown, min = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(`${option} must be a finite number ${min === 0 ? '≥ 0' : `≥ ${min}`} (ms), got ${String(value)}`);
  }
  if (value > maxTimerMs) fail(`${option} must be at most ${maxTimerMs} ms (the longest timer), got ${String(value)}`);
}

function checkCount(fail: Fail, option: string, value: unknown, min: number) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(`${option} must be a whole number ≥ ${min}, got ${String(value)}`);
  }
}

function checkDurations(fail: Fail, group: string, values: unknown, names: readonly string[]) {
  checkGroup(fail, group, values, names, (name, value) => checkDuration(fail, `${group}.${name}`, value));
}

/** Rejects bad options at once, with a message that names the option. */
export function validateOptions(options: GatewayOptions, entry = 'createGateway'): void {
  const fail: Fail = failFor(entry);
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    fail(`url must be an absolute ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail(`url must use ws:// or wss://, got ${url.protocol}`);
  const protocol = options.protocol;
  if (!protocol || typeof protocol.decode !== 'function' || typeof protocol.identify !== 'function') {
    fail('protocol is required, e.g. discordProtocol({ token, intents })');
  }
  checkDurations(fail, 'timeouts', options.timeouts, timeoutNames);
  checkDurations(fail, 'backoff', options.backoff, backoffNames);
  // maxQueued 0 would refuse every payload, even while ready: a queue holds at least one.
  checkGroup(fail, 'outbox', options.outbox, outboxNames, (name, value) =>
    outboxCounts.has(name)
      ? checkCount(fail, `outbox.${name}`, value, name === 'reservedSends' ? 0 : 1)
      : checkDuration(fail, `outbox.${name}`, value),
  );
  const outbox = { ...defaultOutboxOptions, ...options.outbox };
  if (outbox.reservedSends >= outbox.sendsPerWindow) {
    fail('outbox.reservedSends must be smaller than outbox.sendsPerWindow, or no user payload could ever be sent');
  }
  if (options.createSocket !== undefined && typeof options.createSocket !== 'function') {
    fail('createSocket must be a function (url, { shardId }) => WebSocket');
  }
  // `headers` and `agent` configure the default `ws` client only: a socket built elsewhere would lose them unseen.
  if (options.createSocket !== undefined && options.socket !== undefined && options.socket !== null) {
    const ignored = ['headers', 'agent'].filter((name) => (options.socket as Record<string, unknown>)[name] !== undefined);
    if (ignored.length > 0) {
      fail(
        `socket.${ignored.join(' and socket.')} cannot be used with createSocket: they configure the default ws socket; set them in createSocket`,
      );
    }
  }
  const socketProblem = socketOptionsProblem(options.socket);
  if (socketProblem) fail(socketProblem);
  const maxPayload = options.socket?.maxPayload;
  if (maxPayload !== undefined && (!Number.isSafeInteger(maxPayload) || maxPayload <= 0)) {
    fail(`socket.maxPayload must be a positive whole number of bytes, got ${String(maxPayload)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) fail('signal must be an AbortSignal');
  if (options.beforeIdentify !== undefined && typeof options.beforeIdentify !== 'function') {
    fail('beforeIdentify must be a function (signal) => Promise<void>');
  }
  checkSession(fail, options.session);
  checkCompression(fail, options.compression, url);
}

function checkSession(fail: Fail, session: unknown): void {
  if (session === undefined || session === null) return;
  if (typeof session !== 'object') fail('session must be { sessionId, sequence, resumeUrl } or null');
  const { sessionId, sequence, resumeUrl } = session as Record<string, unknown>;
  if (typeof sessionId !== 'string' || sessionId === '') fail('session.sessionId must be a non-empty string');
  if (sequence !== null && (!Number.isSafeInteger(sequence) || (sequence as number) < 0)) {
    fail(`session.sequence must be a whole number ≥ 0 or null, got ${String(sequence)}`);
  }
  if (resumeUrl !== null && typeof resumeUrl !== 'string') fail('session.resumeUrl must be a string or null');
}

function checkCompression(fail: Fail, compression: unknown, url: URL): void {
  if (compression !== undefined && !compressionOptions.includes(compression as CompressionOption)) {
    fail(`compression must be one of ${compressionOptions.map((name) => `'${name}'`).join(', ')}, got ${JSON.stringify(compression)}`);
  }
  // The option decides the stream; a URL that asked for one too could disagree with it.
  if (url.searchParams.has('compress')) fail('url must not carry a compress parameter: use the compression option');
  try {
    if (compression !== undefined) resolveCompression(compression as CompressionOption);
  } catch (error) {
    fail((error as Error).message);
  }
}

/** Rejects bad supervisor options at once, as validateOptions does for the gateway's. */
export function validateSupervisorOptions(options: Partial<SupervisorOptions> | undefined): void {
  const fail: Fail = failFor('superviseGateway');
  checkGroup(fail, 'supervisor', options, supervisorNames, (name, value) => {
    const option = `supervisor.${name}`;
    if (name === 'maxRestarts') return checkCount(fail, option, value, 0);
    // A window of 0 would refill the budget at once, and the breaker would never open.
    checkDuration(fail, option, value, name === 'windowMs' ? 1 : 0);
  });
}

/**
 * Every option of createGateway by name, for entries that take them on (the shard manager refuses
 * unknown keys with it). The compiler holds it to GatewayOptions both ways: a key missing here or
 * one GatewayOptions does not have fails the build.
 */
export const gatewayOptionKeys = Object.keys({
  url: true,
  protocol: true,
  timeouts: true,
  backoff: true,
  signal: true,
  createSocket: true,
  socket: true,
  allowedResumeHosts: true,
  inspect: true,
  outbox: true,
  clock: true,
  session: true,
  beforeIdentify: true,
  compression: true,
} satisfies Record<keyof GatewayOptions, true>) as (keyof GatewayOptions)[];
