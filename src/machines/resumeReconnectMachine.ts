import { reconnectMachine } from './reconnectMachine.ts';

/**
 * A resume reconnect: drain the old socket (closing with 4000 so the server keeps the session),
 * wait, open a new socket to the resume URL and send RESUME with the cached session id and the
 * last sequence seen. The server replays what was missed before RESUMED; those events reach the
 * sequence ledger directly and duplicates are dropped there. Any refusal (op 9, a close, RESUMED
 * not arriving) ends the actor with a trigger, and the gateway's recovery table decides next.
 */
export const resumeReconnectMachine = reconnectMachine({
  id: 'resumeReconnect',
  drainCode: 4000,
  state: 'resuming',
  waitsForTurn: false,
  succeeded: 'resumed',
  // The gateway starts a resume only with a session; an empty id would be refused by the server.
  command: (context) => ({ type: 'resume', sessionId: context.sessionId ?? '' }),
  completes: 'gateway.resumed',
  outcome: (context) => ({ ok: true, handshake: 'resume', heartbeatInterval: context.heartbeatInterval }),
});
