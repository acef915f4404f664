/**
 * Events that flow into the statecharts. Socket events carry the generation of the socket that
 * produced them: a stopped socket actor cannot send at all, and the generation check is a second,
 * independent guard against a stale socket driving a transition.
 */

export type SocketEvent =
  | { type: 'socket.open'; generation: number }
  | {
      type: 'socket.closed';
      generation: number;
      code: number;
      reason: string;
      /** false when the socket closed without ever opening; `error` then says why */
      opened?: boolean;
      error?: { message: string; code?: string };
    }
  /** `createSocket` threw (`ws` refuses some URLs outright): no socket was made */
  | { type: 'socket.createFailed'; generation: number; message: string }
  | { type: 'gateway.hello'; generation: number; heartbeatInterval: number }
  | { type: 'gateway.ready'; generation: number; sessionId: string; resumeUrl: string | null }
  | { type: 'gateway.resumed'; generation: number }
  /** nothing at all was received for a whole heartbeat interval */
  | { type: 'socket.zombie'; generation: number }
  | { type: 'gateway.reconnect'; generation: number }
  | { type: 'gateway.invalidSession'; generation: number; resumable: boolean }
  | { type: 'gateway.malformed'; generation: number; reason: string };

/** Commands a machine sends to its socket actor. */
export type SocketCommand =
  | { type: 'identify' }
  | { type: 'resume'; sessionId: string }
  | { type: 'send'; data: string; id: number }
  /** the handshake succeeded: this socket carries the ready session (stray READY/RESUMED are ignored from now on) */
  | { type: 'sessionReady' }
  /** the socket no longer carries the session (a fault, a stop): read nothing more from it, only wait for CLOSED */
  | { type: 'retire' };

/**
 * What a reconnect asks of the gateway, which owns the sockets: a socket for its generation, and
 * commands for it. The socket outlives the reconnect (it carries the ready session), so the
 * reconnect never holds it; the gateway relays the socket's events to the running reconnect.
 */
export type SocketRequest =
  | { type: 'reconnect.openSocket'; generation: number; url: string }
  | { type: 'reconnect.toSocket'; generation: number; command: SocketCommand };

/** What users (through createGateway) send to the gateway machine. */
export type UserEvent =
  | { type: 'start' }
  /** `keepSession`: close with 4000 so the session stays resumable (a deploy), instead of 1000 */
  | { type: 'stop'; keepSession?: boolean }
  | { type: 'reconnect'; fresh: boolean }
  | { type: 'send'; data: string; id: number };
