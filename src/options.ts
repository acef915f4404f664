import { socketOptionsProblem } from './adapters/ws.ts';
import type { GatewayOptions } from './createGateway.ts';
import { defaultOutboxOptions } from './outbox.ts';
import { compressionOptions, resolveCompression, type CompressionOption } from './compression/transportCompression.ts';

const timeoutNames = ['connect', 'hello', 'ready', 'drain', 'terminateGrace', 'stable'] as const;
const backoffNames = ['baseMs', 'maxMs', 'invalidSessionMinMs', 'invalidSessionMaxMs'] as const;
const outboxNames = ['maxQueued', 'maxPayloadBytes', 'sendsPerWindow', 'reservedSends', 'windowMs'] as const;

function fail(message: string): never {
  throw new TypeError(`createGateway: ${message}`);
}

function checkDurations(group: string, values: Record<string, unknown> | undefined, names: readonly string[]) {
  if (values === undefined) return;
  if (typeof values !== 'object' || values === null) fail(`${group} must be an object`);
  for (const [name, value] of Object.entries(values)) {
    if (!names.includes(name)) fail(`unknown ${group} option ${JSON.stringify(name)} (known: ${names.join(', ')})`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      fail(`${group}.${name} must be a finite number ≥ 0, got ${String(value)}`);
    }
  }
}

/** Rejects bad options at once, with a message that names the option. */
export function validateOptions(options: GatewayOptions): void {
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
  checkDurations('timeouts', options.timeouts as Record<string, unknown> | undefined, timeoutNames);
  checkDurations('backoff', options.backoff as Record<string, unknown> | undefined, backoffNames);
  checkDurations('outbox', options.outbox as Record<string, unknown> | undefined, outboxNames);
  const outbox = { ...defaultOutboxOptions, ...options.outbox };
  if (outbox.reservedSends >= outbox.sendsPerWindow) {
    fail('outbox.reservedSends must be smaller than outbox.sendsPerWindow, or no user payload could ever be sent');
  }
  if (options.createSocket !== undefined && typeof options.createSocket !== 'function') {
    fail('createSocket must be a function (url) => WebSocket');
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
  checkSession(options.session);
  checkCompression(options.compression, url);
}

function checkSession(session: unknown): void {
  if (session === undefined || session === null) return;
  if (typeof session !== 'object') fail('session must be { sessionId, sequence, resumeUrl } or null');
  const { sessionId, sequence, resumeUrl } = session as Record<string, unknown>;
  if (typeof sessionId !== 'string' || sessionId === '') fail('session.sessionId must be a non-empty string');
  if (sequence !== null && (!Number.isSafeInteger(sequence) || (sequence as number) < 0)) {
    fail(`session.sequence must be a whole number ≥ 0 or null, got ${String(sequence)}`);
  }
  if (resumeUrl !== null && typeof resumeUrl !== 'string') fail('session.resumeUrl must be a string or null');
}

function checkCompression(compression: unknown, url: URL): void {
  if (compression !== undefined && !compressionOptions.includes(compression as CompressionOption)) {
    fail(`compression must be one of ${compressionOptions.map((name) => `'${name}'`).join(', ')}, got ${JSON.stringify(compression)}`);
  }
  // The option decides the stream; a URL that asked for one too could disagree with it.
  if (url.searchParams.has('compress')) fail("url must not carry a compress parameter: use the compression option");
  try {
    if (compression !== undefined) resolveCompression(compression as CompressionOption);
  } catch (error) {
    fail((error as Error).message);
  }
}
