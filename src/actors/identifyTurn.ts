import { fromCallback, type EventObject } from 'xstate';
import { errorMessage } from '../machines/reconnectCourse.ts';
import type { SocketDependencies } from './socket.ts';
import { connectionOf, type ConnectionRef } from '../connection/connection.ts';

export type IdentifyTurnEvent = { type: 'identify.turn' } | { type: 'identify.turnFailed'; message: string };

export interface IdentifyTurnInput {
  /** the gateway's connection, whose I/O may hold the gate */
  connection: ConnectionRef;
}

/**
 * Waits for this IDENTIFY's turn (an identify queue's grant, through `beforeIdentify`). Without a
 * gate the turn is granted at once, within the same step, so a single gateway pays nothing for it.
 * When the attempt ends first, the actor stops and aborts the wait, so a queue never grants a turn
 * to an attempt that is gone.
 */
export function createIdentifyTurn(fixed?: Pick<SocketDependencies, 'beforeIdentify'>) {
  return fromCallback<EventObject, IdentifyTurnInput>(({ input, sendBack }) => {
    const beforeIdentify = (fixed ?? connectionOf(input.connection).io)?.beforeIdentify;
    if (!beforeIdentify) {
      sendBack({ type: 'identify.turn' } satisfies IdentifyTurnEvent);
      return;
    }
    const abort = new AbortController();
    beforeIdentify(abort.signal).then(
      () => {
        if (!abort.signal.aborted) sendBack({ type: 'identify.turn' } satisfies IdentifyTurnEvent);
      },
      (error: unknown) => {
        if (!abort.signal.aborted) sendBack({ type: 'identify.turnFailed', message: errorMessage(error) } satisfies IdentifyTurnEvent);
      },
    );
    return () => abort.abort();
  });
}

/** The identify turn that takes the gate from its connection's I/O, shared by every gateway. */
export const identifyTurnActor = createIdentifyTurn();
