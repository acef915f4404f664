import { assign, cancel, raise, sendParent, sendTo, setup, spawnChild } from 'xstate';
import type { SocketCommand, SocketRequest } from './events.ts';
import { drainMachine } from './drainMachine.ts';
import { identifyTurnActor, type IdentifyTurnCommand } from '../actors/identifyTurn.ts';
import { connectionOf } from '../connection/connection.ts';
import {
  drainInput,
  failure,
  reconnectContext,
  reconnectDelays,
  reconnectGuards,
  triggerFor,
  type ReconnectContext,
  type ReconnectEvent,
  type ReconnectInput,
  type ReconnectOutput,
} from './reconnectCourse.ts';

/** What makes a reconnect fresh or resuming: the close code of its drain and its handshake. */
export interface ReconnectKind {
  id: 'freshReconnect' | 'resumeReconnect';
  /** close code for the old socket: 1000 gives the session up, 4000 keeps it resumable */
  drainCode: number;
  /** the handshake state, after HELLO, and the final state it succeeds into */
  state: 'identifying' | 'resuming';
  /** an IDENTIFY waits for its turn (`beforeIdentify`) before its socket opens; a RESUME never does */
  waitsForTurn: boolean;
  succeeded: 'ready' | 'resumed';
  /** the frame to send after HELLO */
  command: (context: ReconnectContext) => SocketCommand;
  /** the server event that completes the handshake, and the result it gives */
  completes: 'gateway.ready' | 'gateway.resumed';
  outcome: (context: ReconnectContext, event: ReconnectEvent) => ReconnectOutput;
}

/**
 * The course every reconnect takes: drain the old socket; wait the retry delay; for an IDENTIFY,
 * wait for its turn; ask the gateway for a socket (the gateway owns it, since it outlives this
 * reconnect, and relays its events here);
 * wait for HELLO; run the handshake. Any event that ends it early becomes a recovery trigger in
 * the output, so the gateway's recovery table decides what follows. Each step has its own timeout;
 * the handshake's measures silence, so a long replay before READY/RESUMED is not cut short.
 * Heartbeats start at HELLO, as the server expects: the socket's actor keeps them, through the
 * handshake and on into the ready session.
 */
export function reconnectMachine(kind: ReconnectKind) {
  const failed = `#${kind.id}.failed`;
  return setup({
    types: {
      input: {} as ReconnectInput,
      context: {} as ReconnectContext,
      // `handshake.silenceCheck` is raised after `timeouts.ready` in the handshake: anything since?
      events: {} as ReconnectEvent,
      output: {} as ReconnectOutput,
    },
    actors: { drain: drainMachine, identifyTurn: identifyTurnActor },
    delays: reconnectDelays,
    guards: reconnectGuards,
    actions: {
      failOn: assign({ outcome: ({ context: c, event }) => failure(triggerFor(event, c)) }),
      // The gateway owns the socket (it outlives this reconnect): asked for, and commanded, through it.
      requestSocket: sendParent(({ context: c }): SocketRequest => ({
        type: 'reconnect.openSocket',
        generation: c.generation,
        url: c.url,
      })),
      sendHandshake: sendParent(({ context: c }): SocketRequest => ({
        type: 'reconnect.toSocket',
        generation: c.generation,
        command: kind.command(c),
      })),
      // The queue measures the bucket's window from here, not from the grant: opening took a while.
      noteTurnUsed: sendTo('identifyTurn', { type: 'identify.sent' } satisfies IdentifyTurnCommand),
      noteProgress: assign({ progressAtCheck: ({ context: c }) => connectionOf(c.connection).line.progressFrames }),
      armSilenceCheck: raise({ type: 'handshake.silenceCheck' } as const, { delay: 'readyTimeout', id: 'silenceCheck' }),
      disarmSilenceCheck: cancel('silenceCheck'),
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
        after: { retryDelay: kind.waitsForTurn ? 'awaitingTurn' : 'handshake' },
      },
      // An IDENTIFY's turn comes before its socket: a shard waiting for its bucket (minutes, or hours
      // when the daily budget is spent) holds no open, heartbeating connection meanwhile. No timer
      // here for that reason. The turn's actor lives on until the reconnect ends, so that it can tell
      // the queue when the IDENTIFY went out, or give the turn back if none did.
      ...(kind.waitsForTurn
        ? {
            awaitingTurn: {
              entry: spawnChild('identifyTurn' as const, {
                id: 'identifyTurn',
                input: ({ context: c }: { context: ReconnectContext }) => ({ connection: c.connection }),
              }),
              on: {
                'identify.turn': { target: 'handshake' },
                'identify.turnFailed': {
                  target: 'failed',
                  actions: assign({
                    outcome: ({ event }) =>
                      failure({ type: 'identifyPermitFailed', message: event.type === 'identify.turnFailed' ? event.message : '' }),
                  }),
                },
              },
            },
          }
        : {}),
      handshake: {
        entry: 'requestSocket',
        on: {
          // The socket's heartbeat runs from HELLO; the socket
          // reports a whole interval of silence as a zombie.
          'socket.zombie': { guard: 'fromThisSocket', target: 'failed', actions: 'failOn' },
          'socket.closed': { guard: 'fromThisSocket', target: 'failed', actions: 'failOn' },
          'socket.createFailed': { guard: 'fromThisSocket', target: 'failed', actions: 'failOn' },
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
                  'sendHandshake' as const,
                  ...(kind.waitsForTurn ? ['noteTurnUsed' as const] : []),
                ],
              },
            },
            after: { helloTimeout: { target: failed, actions: assign({ outcome: failure({ type: 'helloTimeout' }) }) } },
          },
          [kind.state]: {
            entry: ['noteProgress', 'armSilenceCheck'],
            exit: 'disarmSilenceCheck',
            on: {
              [kind.completes]: {
                guard: 'fromThisSocket',
                target: `#${kind.id}.${kind.succeeded}`,
                actions: 'succeed',
              },
              // A whole `ready` window with nothing received ends the handshake; anything received
              // (a replayed event, a heartbeat request) starts another window.
              'handshake.silenceCheck': [
                { guard: 'heardSinceCheck', actions: ['noteProgress', 'armSilenceCheck'] },
                {
                  target: failed,
                  actions: assign({
                    outcome: failure({ type: 'readyTimeout', handshake: kind.state === 'identifying' ? 'identify' : 'resume' }),
                  }),
                },
              ],
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
