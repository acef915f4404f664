import { socketOptionsProblem } from './adapters/ws.ts';
import type { GatewayOptions } from './createGateway.ts';
import { defaultOutboxOptions } from './outbox.ts';

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
}
