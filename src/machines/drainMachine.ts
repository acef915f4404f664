import { assign, fromCallback, setup } from 'xstate';
import { SocketState, type WebSocketLike } from '../types.ts';
import { connectionOf, type ConnectionRef } from '../connection/connection.ts';

export interface DrainInput {
  /** the connection whose line's socket is drained */
  connection: ConnectionRef;
  /** close code sent to the server: 4xxx keeps the session resumable, 1000 ends it */
  code: number;
  /** zombie connections skip the close handshake: the peer is not answering anyway */
  terminateAtOnce: boolean;
  drainTimeout: number;
  terminateGrace: number;
}

export interface DrainOutput {
  /** false when the socket never reached CLOSED: the caller must not open another */
  drained: boolean;
}

type SocketClosed = { type: 'socket.closed' };

/**
 * Waits for the line's socket to emit `close` after `act` ran. A socket that is already closed (or
 * was never opened) reports at once, so draining is idempotent and safe to repeat.
 */
function awaitClose(act: (socket: WebSocketLike, code: number) => void) {
  return fromCallback<SocketClosed, { connection: ConnectionRef; code: number }>(({ input, sendBack }) => {
    const socket = connectionOf(input.connection).line.socket;
    if (!socket || socket.readyState === SocketState.CLOSED) {
      sendBack({ type: 'socket.closed' });
      return;
    }
    const onClose = () => sendBack({ type: 'socket.closed' });
    // Listen first: a socket may emit `close` synchronously from inside close()/terminate().
    socket.on('close', onClose);
    try {
      act(socket, input.code);
    } catch (error) {
      socket.off('close', onClose);
      throw error;
    }
    return () => socket.off('close', onClose);
  });
}

/** Starts the close handshake; `ws` answers a still-connecting socket with `error` + `close`. */
export const closeSocket = awaitClose((socket, code) => socket.close(code));
export const terminateSocket = awaitClose((socket) => socket.terminate());

/**
 * Drains the line's socket: close handshake, then terminate() when the handshake times out, then
 * fail closed when even terminate() produces no `close`. The drain never opens anything; the
 * caller decides what its result means (a shutdown in progress treats failure as quiet).
 */
export const drainMachine = setup({
  types: {
    input: {} as DrainInput,
    context: {} as DrainInput & { drained: boolean },
    events: {} as SocketClosed,
    output: {} as DrainOutput,
  },
  actors: {
    closeSocket,
    terminateSocket,
  },
  delays: {
    drainTimeout: ({ context }) => context.drainTimeout,
    terminateGrace: ({ context }) => context.terminateGrace,
  },
  guards: {
    terminateAtOnce: ({ context }) => context.terminateAtOnce,
  },
  actions: {
    markDrained: assign({ drained: true }),
  },
}).createMachine({
  id: 'drain',
  context: ({ input }) => ({ ...input, drained: false }),
  initial: 'choosing',
  states: {
    choosing: {
      always: [{ guard: 'terminateAtOnce', target: 'terminating' }, { target: 'closing' }],
    },
    closing: {
      invoke: {
        id: 'closeSocket',
        src: 'closeSocket',
        input: ({ context }) => ({ connection: context.connection, code: context.code }),
        onError: 'terminating',
      },
      on: { 'socket.closed': { target: 'closed', actions: 'markDrained' } },
      after: { drainTimeout: 'terminating' },
    },
    terminating: {
      invoke: {
        id: 'terminateSocket',
        src: 'terminateSocket',
        input: ({ context }) => ({ connection: context.connection, code: context.code }),
        onError: 'failed',
      },
      on: { 'socket.closed': { target: 'closed', actions: 'markDrained' } },
      after: { terminateGrace: 'failed' },
    },
    closed: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({ drained: context.drained }),
});
