import { assign, sendTo, setup } from 'xstate';
import type { SocketCommand, SocketEvent } from '../machines/events.ts';
import { drainMachine } from './drain.ts';
import { socketNotProvided } from './socket.ts';
import {
  drainInput,
  failure,
  reconnectContext,
  reconnectDelays,
  reconnectGuards,
  triggerFor,
  triggerForSocketError,
  type ReconnectContext,
  type ReconnectInput,
  type ReconnectOutput,
} from './reconnect.ts';

/** What makes a reconnect fresh or resuming: the close code of its drain and its handshake. */
export interface ReconnectKind {
  id: 'freshReconnect' | 'resumeReconnect';
  /** close code for the old socket: 1000 gives the session up, 4000 keeps it resumable */
  drainCode: number;
  /** the handshake state, after HELLO, and the final state it succeeds into */
  state: 'identifying' | 'resuming';
  succeeded: 'ready' | 'resumed';
  /** the frame to send after HELLO */
  command: (context: ReconnectContext) => SocketCommand;
  /** the server event that completes the handshake, and the result it gives */
  completes: 'gateway.ready' | 'gateway.resumed';
  outcome: (context: ReconnectContext, event: SocketEvent) => ReconnectOutput;
}

/**
 * The course every reconnect takes: drain the old socket; wait the retry delay; open a socket;
 * wait for HELLO; run the handshake. Any event that ends it early becomes a recovery trigger in
 * the output, so the gateway's recovery table decides what follows. Each step has its own timeout.
 */
export function reconnectMachine(kind: ReconnectKind) {
  const failed = `#${kind.id}.failed`;
  return setup({
    types: {
      input: {} as ReconnectInput,
      context: {} as ReconnectContext,
      events: {} as SocketEvent,
      output: {} as ReconnectOutput,
    },
    actors: { drain: drainMachine, socket: socketNotProvided },
    delays: reconnectDelays,
    guards: reconnectGuards,
    actions: {
      failOn: assign({ outcome: ({ context: c, event }) => failure(triggerFor(event, c)) }),
      sendHandshake: sendTo('socket', ({ context: c }) => kind.command(c)),
      succeed: assign({ outcome: ({ context: c, event }) => kind.outcome(c, event) }),
    },
  }).createMachine({
    id: kind.id,
    context: ({ input }) => reconnectContext(input),
    initial: 'draining',
    states: {
      draining: {
        invoke: {
          id: 'drain',
          src: 'drain',
          input: ({ context: c }) => drainInput(c, kind.drainCode),
          onDone: [
            { guard: 'drained', target: 'waiting' },
            { target: 'failed', actions: assign({ outcome: failure({ type: 'drainFailed' }) }) },
          ],
          onError: { target: 'failed', actions: assign({ outcome: failure({ type: 'drainFailed' }) }) },
        },
      },
      waiting: {
        after: { retryDelay: 'handshake' },
      },
      handshake: {
        invoke: {
          id: 'socket',
          src: 'socket',
          input: ({ context: c }) => ({
            line: c.line,
            ledger: c.ledger,
            generation: c.generation,
            mode: 'open' as const,
            url: c.url,
            io: c.io,
          }),
          onError: {
            target: 'failed',
            actions: assign({
              outcome: ({ event }) => failure(triggerForSocketError(event.error)),
            }),
          },
        },
        on: {
          'socket.closed': { guard: 'fromThisSocket', target: 'failed', actions: 'failOn' },
          'gateway.malformed': { guard: 'fromThisSocket', target: 'failed', actions: 'failOn' },
          'gateway.reconnect': { guard: 'fromThisSocket', target: 'failed', actions: 'failOn' },
          'gateway.invalidSession': { guard: 'fromThisSocket', target: 'failed', actions: 'failOn' },
        },
        initial: 'opening',
        states: {
          opening: {
            on: { 'socket.open': { guard: 'fromThisSocket', target: 'awaitingHello' } },
            after: { connectTimeout: { target: failed, actions: assign({ outcome: failure({ type: 'connectTimeout' }) }) } },
          },
          awaitingHello: {
            on: {
              'gateway.hello': {
                guard: 'fromThisSocket',
                target: kind.state,
                actions: [
                  assign({ heartbeatInterval: ({ event }) => (event.type === 'gateway.hello' ? event.heartbeatInterval : 0) }),
                  'sendHandshake',
                ],
              },
            },
            after: { helloTimeout: { target: failed, actions: assign({ outcome: failure({ type: 'helloTimeout' }) }) } },
          },
          [kind.state]: {
            on: {
              [kind.completes]: {
                guard: 'fromThisSocket',
                target: `#${kind.id}.${kind.succeeded}`,
                actions: 'succeed',
              },
            },
            after: {
              readyTimeout: {
                target: failed,
                actions: assign({
                  outcome: failure({ type: 'readyTimeout', handshake: kind.state === 'identifying' ? 'identify' : 'resume' }),
                }),
              },
            },
          },
        },
      },
      [kind.succeeded]: { type: 'final' },
      failed: { type: 'final' },
    },
    output: ({ context: c }) => c.outcome,
  });
}
