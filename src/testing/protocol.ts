/** The slice of the Discord gateway v10 wire format the chaos gateway speaks. */

export const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

export const CloseCode = {
  UnknownError: 4000,
  UnknownOpcode: 4001,
  DecodeError: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  InvalidShard: 4010,
} as const;

/** Opcodes a client may legitimately send; anything else is answered with 4001. */
const CLIENT_OPS: ReadonlySet<number> = new Set([
  Op.Heartbeat,
  Op.Identify,
  Op.PresenceUpdate,
  Op.VoiceStateUpdate,
  Op.Resume,
  Op.RequestGuildMembers,
]);

/** Opcodes Discord accepts before the handshake; everything else there is 4003. */
const PRE_HANDSHAKE_OPS: ReadonlySet<number> = new Set([Op.Heartbeat, Op.Identify, Op.Resume]);

export function isClientOp(op: number): boolean {
  return CLIENT_OPS.has(op);
}

export function isAllowedBeforeHandshake(op: number): boolean {
  return PRE_HANDSHAKE_OPS.has(op);
}

export interface GatewayFrame {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

export interface ClientFrame {
  op: number;
  d: unknown;
}

export function controlFrame(op: number, d: unknown): GatewayFrame {
  return { op, d, s: null, t: null };
}

export function dispatchFrame(t: string, s: number, d: unknown): GatewayFrame {
  return { op: Op.Dispatch, d, s, t };
}

/** Returns undefined for anything that is not a JSON object carrying a numeric `op`. */
export function decodeClientFrame(raw: string): ClientFrame | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { op, d } = parsed as { op?: unknown; d?: unknown };
  if (typeof op !== 'number' || !Number.isInteger(op)) return undefined;
  return { op, d };
}

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
