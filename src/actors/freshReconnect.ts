import { assign, sendTo, setup } from 'xstate';
import type { SocketEvent } from '../machines/events.ts';
import { drainMachine } from './drain.ts';
import { socketNotProvided } from './socket.ts';
import {
  drainInput,
  errorMessage,
  failure,
  reconnectContext,
  reconnectDelays,
  reconnectGuards,
  triggerFor,
  type ReconnectContext,
  type ReconnectInput,
  type ReconnectOutput,
} from './reconnect.ts';

/**
 * A fresh reconnect: drain the old socket, wait, open a new one, and start a new session with
 * IDENTIFY. Its input carries no session id, so it cannot send RESUME by construction: the
 * gateway cleared session id, sequence and resume URL before it started this actor. The old socket
 * is closed with 1000 because the session it carried is being abandoned.
 */
export const freshReconnectMachine = setup({
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
    failOn: assign({ outcome: ({ event }) => failure(triggerFor(event as SocketEvent)) }),
    sendIdentify: sendTo('socket', { type: 'identify' }),
  },
}).createMachine({
  id: 'freshReconnect',
  context: ({ input }) => reconnectContext(input),
  initial: 'draining',
  states: {
    draining: {
      invoke: {
        id: 'drain',
        src: 'drain',
        input: ({ context }) => drainInput(context, 1000),
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
        input: ({ context }) => ({
          line: context.line,
          ledger: context.ledger,
          generation: context.generation,
          mode: 'open' as const,
          url: context.url,
        }),
        onError: {
          target: 'failed',
          actions: assign({
            outcome: ({ event }) => failure({ type: 'socketFailure', message: errorMessage(event.error) }),
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
          after: {
            connectTimeout: {
              target: '#freshReconnect.failed',
              actions: assign({ outcome: failure({ type: 'connectTimeout' }) }),
            },
          },
        },
        awaitingHello: {
          on: {
            'gateway.hello': {
              guard: 'fromThisSocket',
              target: 'identifying',
              actions: [
                assign({ heartbeatInterval: ({ event }) => event.heartbeatInterval }),
                'sendIdentify',
              ],
            },
          },
          after: {
            helloTimeout: {
              target: '#freshReconnect.failed',
              actions: assign({ outcome: failure({ type: 'helloTimeout' }) }),
            },
          },
        },
        identifying: {
          on: {
            'gateway.ready': {
              guard: 'fromThisSocket',
              target: '#freshReconnect.ready',
              actions: assign({
                outcome: ({ context, event }) => ({
                  ok: true as const,
                  handshake: 'identify' as const,
                  heartbeatInterval: context.heartbeatInterval,
                  session: { sessionId: event.sessionId, resumeUrl: event.resumeUrl },
                }),
              }),
            },
          },
          after: {
            readyTimeout: {
              target: '#freshReconnect.failed',
              actions: assign({ outcome: failure({ type: 'readyTimeout', handshake: 'identify' }) }),
            },
          },
        },
      },
    },
    ready: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => context.outcome,
});
