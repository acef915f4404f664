import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/gateway/v10';
import type { DispatchPayload, GatewayProtocol, InboundFrame } from '../../types.ts';

export interface DiscordProtocolOptions {
  token: string;
  intents: number;
  /** IDENTIFY connection properties; defaults name this library */
  properties?: { os?: string; browser?: string; device?: string };
  /** extra IDENTIFY fields (shard, presence, large_threshold, ...) */
  identify?: Record<string, unknown>;
}

export interface DiscordProtocol extends GatewayProtocol {
  /** Discord's resume URLs live on its own subdomains */
  readonly allowedResumeHosts: readonly string[];
}

/** The longest heartbeat interval accepted from HELLO: beyond this a server is not being sane. */
const maxHeartbeatInterval = 10 * 60_000;
/** The shortest: below this a server would have the client beat in a loop and call itself a zombie. */
const minHeartbeatInterval = 10;

const malformed = (reason: string): InboundFrame => ({ kind: 'malformed', reason });

/** The most characters of a server-sent string quoted in an error message. */
const previewLength = 40;

/**
 * Names a server-sent value in an error message, bounded and without recursion: a hostile frame
 * can nest arrays thousands deep (JSON.stringify then overflows the stack, and the decoder threw)
 * or carry a string as large as the max payload.
 */
function preview(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value !== 'string') return String(value);
  return value.length > previewLength ? `${JSON.stringify(value.slice(0, previewLength))}…` : JSON.stringify(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSequence(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function textOf(data: unknown): string | null {
  if (typeof data === 'string') return data;
  // toString() is utf8 already; naming the encoding costs a lookup on every frame.
  if (Buffer.isBuffer(data)) return data.toString();
  if (Array.isArray(data) && data.every((chunk) => Buffer.isBuffer(chunk))) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return null;
}

/**
 * A DISPATCH with an event name and a sequence number. Its `d` is Discord's: it is handed on as
 * sent, with no copy and no deep check on the hot path, which is what the type promises.
 */
function isDispatchFrame(frame: Record<string, unknown>): frame is Record<string, unknown> & DispatchPayload {
  return typeof frame.t === 'string' && frame.t !== '' && isSequence(frame.s);
}

function decodeReady(frame: Record<string, unknown> & DispatchPayload): InboundFrame {
  const d: unknown = frame.d;
  if (!isRecord(d) || typeof d.session_id !== 'string' || d.session_id === '') {
    return malformed('READY without a session_id');
  }
  const resumeUrl = d.resume_gateway_url;
  if (resumeUrl !== undefined && resumeUrl !== null && typeof resumeUrl !== 'string') {
    return malformed('READY with a resume_gateway_url that is not a string');
  }
  return { kind: 'ready', seq: frame.s, sessionId: d.session_id, resumeUrl: resumeUrl ?? null, payload: frame };
}

function decodeDispatch(frame: Record<string, unknown>): InboundFrame {
  if (!isDispatchFrame(frame)) {
    return typeof frame.t === 'string' && frame.t !== ''
      ? malformed(`DISPATCH ${preview(frame.t)} without a valid sequence number (s)`)
      : malformed('DISPATCH without an event name (t)');
  }
  if (frame.t === GatewayDispatchEvents.Ready) return decodeReady(frame);
  if (frame.t === GatewayDispatchEvents.Resumed) return { kind: 'resumed', seq: frame.s, payload: frame };
  return { kind: 'dispatch', seq: frame.s, payload: frame };
}

/** Reads one server frame. Never throws: anything unexpected becomes a `malformed` frame. */
export function decodeDiscordFrame(data: unknown, isBinary: boolean): InboundFrame {
  if (isBinary) return malformed('binary frame on a JSON-encoded connection');
  const text = textOf(data);
  if (text === null) return malformed('frame of an unknown type');
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return malformed(`invalid JSON (${text.length} bytes)`);
  }
  if (!isRecord(frame)) return malformed('frame is not a JSON object');
  switch (frame.op) {
    case GatewayOpcodes.Dispatch:
      return decodeDispatch(frame);
    case GatewayOpcodes.Heartbeat:
      return { kind: 'heartbeatRequest' };
    case GatewayOpcodes.Reconnect:
      return { kind: 'reconnect' };
    case GatewayOpcodes.InvalidSession:
      return typeof frame.d === 'boolean'
        ? { kind: 'invalidSession', resumable: frame.d }
        : malformed('INVALID_SESSION without a boolean d');
    case GatewayOpcodes.Hello: {
      const interval = isRecord(frame.d) ? frame.d.heartbeat_interval : undefined;
      if (
        typeof interval !== 'number' ||
        !Number.isFinite(interval) ||
        interval < minHeartbeatInterval ||
        interval > maxHeartbeatInterval
      ) {
        return malformed(`HELLO with an invalid heartbeat_interval (${preview(interval)})`);
      }
      return { kind: 'hello', heartbeatInterval: interval };
    }
    case GatewayOpcodes.HeartbeatAck:
      return { kind: 'heartbeatAck' };
    default:
      return malformed(`unknown opcode ${preview(frame.op)}`);
  }
}

/** IDENTIFY's `shard` as `[shardId, shardCount]` when it is one; anything else names no shard. */
function shardOf(value: unknown): readonly [number, number] | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [id, count] = value as unknown[];
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(count)) return undefined;
  if ((id as number) < 0 || (count as number) <= (id as number)) return undefined;
  return Object.freeze([id as number, count as number] as const);
}

/**
 * The Discord gateway v10 binding (JSON encoding). It holds the token: the statechart only ever
 * asks it for an IDENTIFY or a RESUME frame, so the token stays out of context and snapshots.
 */
export function discordProtocol(options: DiscordProtocolOptions): DiscordProtocol {
  if (typeof options?.token !== 'string' || options.token.trim() === '') {
    throw new TypeError('discordProtocol: token must be a non-empty string');
  }
  if (!Number.isSafeInteger(options.intents) || options.intents < 0) {
    throw new TypeError('discordProtocol: intents must be a non-negative integer bit field');
  }
  const { token, intents } = options;
  const properties = {
    os: options.properties?.os ?? process.platform,
    browser: options.properties?.browser ?? 'lifeline',
    device: options.properties?.device ?? 'lifeline',
  };
  const shard = shardOf(options.identify?.shard);
  const protocol: DiscordProtocol = {
    name: 'discord-gateway-v10',
    ...(shard ? { shard } : {}),
    allowedResumeHosts: ['*.discord.gg'],
    decode: decodeDiscordFrame,
    identify: () => JSON.stringify({ op: GatewayOpcodes.Identify, d: { ...options.identify, token, intents, properties } }),
    resume: (sessionId, seq) => JSON.stringify({ op: GatewayOpcodes.Resume, d: { token, session_id: sessionId, seq } }),
    heartbeat: (seq) => JSON.stringify({ op: GatewayOpcodes.Heartbeat, d: seq }),
    encode: (payload) => JSON.stringify(payload),
  };
  // The token must not leak through logging or serialising the binding itself.
  Object.defineProperty(protocol, 'toJSON', { value: () => ({ name: protocol.name }), enumerable: false });
  Object.defineProperty(protocol, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => `DiscordProtocol { name: '${protocol.name}' }`,
    enumerable: false,
  });
  return protocol;
}
