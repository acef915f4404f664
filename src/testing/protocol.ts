/** The slice of the Discord gateway v10 wire format the chaos gateway speaks. */
import { GatewayOpcodes } from 'discord-api-types/gateway/v10';

/** Opcodes a client may legitimately send; anything else is answered with 4001. */
const CLIENT_OPS: ReadonlySet<number> = new Set<number>([
  GatewayOpcodes.Heartbeat,
  GatewayOpcodes.Identify,
  GatewayOpcodes.PresenceUpdate,
  GatewayOpcodes.VoiceStateUpdate,
  GatewayOpcodes.Resume,
  GatewayOpcodes.RequestGuildMembers,
]);

/** Opcodes Discord accepts before the handshake; everything else there is 4003. */
const PRE_HANDSHAKE_OPS: ReadonlySet<number> = new Set<number>([GatewayOpcodes.Heartbeat, GatewayOpcodes.Identify, GatewayOpcodes.Resume]);

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
  return { op: GatewayOpcodes.Dispatch, d, s, t };
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
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
