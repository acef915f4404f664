import { reconnectMachine } from './reconnectMachine.ts';

/**
 * A fresh reconnect: drain the old socket, wait, open a new one, and start a new session with
 * IDENTIFY. Its input carries no session id, so it cannot send RESUME by construction: the
 * gateway cleared session id, sequence and resume URL before it started this actor. The old socket
 * is closed with 1000 because the session it carried is being abandoned. READY brings the new
 * session's id and resume URL.
 */
export const freshReconnectMachine = reconnectMachine({
  id: 'freshReconnect',
  drainCode: 1000,
  state: 'identifying',
  waitsForTurn: true,
  succeeded: 'ready',
  command: () => ({ type: 'identify' }),
  completes: 'gateway.ready',
  outcome: (context, event) => ({
    ok: true,
    handshake: 'identify',
    heartbeatInterval: context.heartbeatInterval,
    session: event.type === 'gateway.ready' ? { sessionId: event.sessionId, resumeUrl: event.resumeUrl } : undefined,
  }),
});
