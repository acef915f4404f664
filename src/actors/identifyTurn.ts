import { fromCallback, type EventObject } from 'xstate';
import { errorMessage } from '../machines/reconnectCourse.ts';
import type { SocketDependencies } from './socket.ts';
import type { IdentifyTurnHandle } from '../types.ts';
import { connectionOf, type ConnectionRef } from '../connection/connection.ts';

export type IdentifyTurnEvent = { type: 'identify.turn' } | { type: 'identify.turnFailed'; message: string };

/** Told by the reconnect the moment its IDENTIFY goes out on the socket. */
export type IdentifyTurnCommand = { type: 'identify.sent' };

export interface IdentifyTurnInput {
  /** the gateway's connection, whose I/O may hold the gate */
  connection: ConnectionRef;
}

function handleOf(value: unknown): IdentifyTurnHandle | null {
  if (typeof value !== 'object' || value === null) return null;
  const { sent, release } = value as Partial<IdentifyTurnHandle>;
  return typeof sent === 'function' && typeof release === 'function' ? (value as IdentifyTurnHandle) : null;
}

/**
 * Holds this IDENTIFY's turn (an identify queue's grant, through `beforeIdentify`) from before the
 * socket opens until the IDENTIFY is sent. Without a gate the turn is granted at once, within the
 * same step, so a single gateway pays nothing for it.
 *
 * A gate may answer with a handle: the reconnect tells it when the IDENTIFY went out (`sent`, from
 * which the queue measures the bucket's window, however long the socket took to open), and an
 * attempt that ends before sending gives the turn back (`release`). When the attempt ends while
 * still waiting, the wait is aborted, so a queue never grants a turn to an attempt that is gone.
 */
export function createIdentifyTurn(fixed?: Pick<SocketDependencies, 'beforeIdentify'>) {
  return fromCallback<IdentifyTurnCommand, IdentifyTurnInput, EventObject>(({ input, sendBack, receive }) => {
    // Spawned without an error path: nothing here may throw, a failure is a failed turn.
    let beforeIdentify: SocketDependencies['beforeIdentify'];
    try {
      beforeIdentify = (fixed ?? connectionOf(input.connection).io)?.beforeIdentify;
    } catch (error) {
      sendBack({ type: 'identify.turnFailed', message: errorMessage(error) } satisfies IdentifyTurnEvent);
      return;
    }
    if (!beforeIdentify) {
      sendBack({ type: 'identify.turn' } satisfies IdentifyTurnEvent);
      return;
    }
    const abort = new AbortController();
    let handle: IdentifyTurnHandle | null = null;
    let sent = false;
    // A gate's handle belongs to the caller's code: a throw there must not end the attempt.
    const tell = (what: 'sent' | 'release') => {
      try {
        handle?.[what]();
      } catch {
        // The queue's own bookkeeping failed; the IDENTIFY (or its absence) stands either way.
      }
    };
    receive((command) => {
      if (command.type !== 'identify.sent' || sent) return;
      sent = true;
      tell('sent');
    });
    let turn: Promise<void | IdentifyTurnHandle>;
    try {
      turn = Promise.resolve(beforeIdentify(abort.signal));
    } catch (error) {
      turn = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    turn.then(
      (value) => {
        if (abort.signal.aborted) {
          // Granted as the attempt ended: nobody will use it.
          handle = handleOf(value);
          tell('release');
          return;
        }
        handle = handleOf(value);
        sendBack({ type: 'identify.turn' } satisfies IdentifyTurnEvent);
      },
      (error: unknown) => {
        if (!abort.signal.aborted) sendBack({ type: 'identify.turnFailed', message: errorMessage(error) } satisfies IdentifyTurnEvent);
      },
    );
    return () => {
      abort.abort();
      if (!sent) tell('release');
    };
  });
}

/** The identify turn that takes the gate from its connection's I/O, shared by every gateway. */
export const identifyTurnActor = createIdentifyTurn();
