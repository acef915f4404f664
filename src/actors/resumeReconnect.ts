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

export interface ResumeReconnectInput extends ReconnectInput {
  sessionId: string;
}

/**
 * A resume reconnect: drain the old socket (closing with 4000 so the server keeps the session),
 * wait, open a new socket to the resume URL and send RESUME with the cached session id and the
 * last sequence seen. The server replays what was missed before RESUMED; those events reach the
 * sequence ledger directly and duplicates are dropped there. Any refusal (op 9, a close, RESUMED
 * not arriving) ends the actor with a trigger, and the gateway's recovery table decides next.
 */
export const resumeReconnectMachine = setup({
  types: {
    input: {} as ResumeReconnectInput,
    context: {} as ReconnectContext & { sessionId: string },
    events: {} as SocketEvent,
    output: {} as ReconnectOutput,
  },
  actors: { drain: drainMachine, socket: socketNotProvided },
  delays: reconnectDelays,
  guards: reconnectGuards,
  actions: {
    failOn: assign({ outcome: ({ event }) => failure(triggerFor(event as SocketEvent)) }),
    sendResume: sendTo('socket', ({ context }) => ({ type: 'resume' as const, sessionId: context.sessionId })),
  },
}).createMachine({
  id: 'resumeReconnect',
  context: ({ input }) => ({ ...reconnectContext(input), sessionId: input.sessionId }),
  initial: 'draining',
  states: {
    draining: {
      invoke: {
        id: 'drain',
        src: 'drain',
        input: ({ context }) => drainInput(context, 4000),
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
              target: '#resumeReconnect.failed',
              actions: assign({ outcome: failure({ type: 'connectTimeout' }) }),
            },
          },
        },
        awaitingHello: {
          on: {
            'gateway.hello': {
              guard: 'fromThisSocket',
              target: 'resuming',
              actions: [
                assign({ heartbeatInterval: ({ event }) => event.heartbeatInterval }),
                'sendResume',
              ],
            },
          },
          after: {
            helloTimeout: {
              target: '#resumeReconnect.failed',
              actions: assign({ outcome: failure({ type: 'helloTimeout' }) }),
            },
          },
        },
        resuming: {
          on: {
            'gateway.resumed': {
              guard: 'fromThisSocket',
              target: '#resumeReconnect.resumed',
              actions: assign({
                outcome: ({ context }) => ({
                  ok: true as const,
                  handshake: 'resume' as const,
                  heartbeatInterval: context.heartbeatInterval,
                }),
              }),
            },
          },
          after: {
            readyTimeout: {
              target: '#resumeReconnect.failed',
              actions: assign({ outcome: failure({ type: 'readyTimeout', handshake: 'resume' }) }),
            },
          },
        },
      },
    },
    resumed: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => context.outcome,
});
