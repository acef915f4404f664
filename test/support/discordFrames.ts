import { GatewayOpcodes } from 'discord-api-types/v10';

/** Server frames of the Discord gateway v10, as a fake server would send them. */
export const serverFrames = {
  hello: (heartbeatInterval = 41_250) => ({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: heartbeatInterval } }),
  ready: (s: number, sessionId: string, resumeUrl?: string | null) => ({
    op: GatewayOpcodes.Dispatch,
    t: 'READY',
    s,
    d: { v: 10, session_id: sessionId, ...(resumeUrl === undefined ? {} : { resume_gateway_url: resumeUrl }) },
  }),
  resumed: (s: number) => ({ op: GatewayOpcodes.Dispatch, t: 'RESUMED', s, d: {} }),
  dispatch: (t: string, s: number, d: unknown = {}) => ({ op: GatewayOpcodes.Dispatch, t, s, d }),
  heartbeatRequest: () => ({ op: GatewayOpcodes.Heartbeat, d: null }),
  reconnect: () => ({ op: GatewayOpcodes.Reconnect, d: null }),
  invalidSession: (resumable: boolean) => ({ op: GatewayOpcodes.InvalidSession, d: resumable }),
  heartbeatAck: () => ({ op: GatewayOpcodes.HeartbeatAck }),
};

/** READY and RESUMED: the answers to a handshake, which on('dispatch') delivers beside the session's events. */
export function isHandshakeAnswer(payload: { t: string }): boolean {
  return payload.t === 'READY' || payload.t === 'RESUMED';
}
