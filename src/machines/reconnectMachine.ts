import { assign, cancel, raise, sendParent, setup, spawnChild } from 'xstate';
import type { SocketCommand, SocketRequest } from './events.ts';
import { drainMachine } from './drainMachine.ts';
import { identifyTurnActor } from '../actors/identifyTurn.ts';
import { heartbeatMachine } from './heartbeatMachine.ts';
import { connectionOf } from './connection.ts';
import {
  drainInput,
  errorMessage,
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
  /** an IDENTIFY waits for its turn (`beforeIdentify`) between HELLO and the handshake; a RESUME never does */
  waitsForTurn: boolean;
  succeeded: 'ready' | 'resumed';
  /** the frame to send after HELLO */
  command: (context: ReconnectContext) => SocketCommand;
  /** the server event that completes the handshake, and the result it gives */
  completes: 'gateway.ready' | 'gateway.resumed';
  outcome: (context: ReconnectContext, event: ReconnectEvent) => ReconnectOutput;
}

/**
 * The course every reconnect takes: drain the old socket; wait the retry delay; ask the gateway for
 * a socket (the gateway owns it, since it outlives this reconnect, and relays its events here);
 * wait for HELLO; run the handshake. Any event that ends it early becomes a recovery trigger in
 * the output, so the gateway's recovery table decides what follows. Each step has its own timeout;
 * the handshake's measures silence, so a long replay before READY/RESUMED is not cut short.
 * Heartbeats start at HELLO, as the server expects, and go on during the handshake.
 */
export function reconnectMachine(kind: ReconnectKind) {
  const failed = `#${kind.id}.failed`;
  const helloTarget = kind.waitsForTurn ? 'awaitingTurn' : kind.state;
  return setup({
    types: {
      input: {} as ReconnectInput,
      context: {} as ReconnectContext,
      // `handshake.silenceCheck` is raised after `timeouts.ready` in the handshake: anything since?
      events: {} as ReconnectEvent,
      output: {} as ReconnectOutput,
    },
    actors: { drain: drainMachine, heartbeat: heartbeatMachine, identifyTurn: identifyTurnActor },
    delays: reconnectDelays,
    guards: reconnectGuards,
    actions: {
      failOn: assign({ outcome: ({ context: c, event }) => failure(triggerFor(event, c)) }),
      // The gateway owns the socket (it outlives this reconnect): asked for, and commanded, through it.
      requestSocket: sendParent(({ context: c }): SocketRequest => ({ type: 'reconnect.openSocket', generation: c.generation, url: c.url })),
      sendHandshake: sendParent(({ context: c }): SocketRequest => ({ type: 'reconnect.toSocket', generation: c.generation, command: kind.command(c) })),
      sendHeartbeat: sendParent(({ context: c }): SocketRequest => ({ type: 'reconnect.toSocket', generation: c.generation, command: { type: 'heartbeat' } })),
      countBeat: assign({ beats: ({ context: c }) => c.beats + 1 }),
      // Drawn here rather than inside the heartbeat, so that the ready session's heartbeat can follow on from it.
      drawFirstBeat: assign({ firstBeatDelay: ({ context: c }) => c.heartbeatInterval * Math.random() }),
      noteProgress: assign({ progressAtCheck: ({ context: c }) => connectionOf(c.connection).line.progressFrames }),
      armSilenceCheck: raise({ type: 'handshake.silenceCheck' } as const, { delay: 'readyTimeout', id: 'silenceCheck' }),
      disarmSilenceCheck: cancel('silenceCheck'),
      startHandshakeHeartbeat: spawnChild('heartbeat', {
        id: 'handshakeHeartbeat',
        input: ({ context: c }) => ({ interval: c.heartbeatInterval, connection: c.connection, firstBeatAfter: c.firstBeatDelay }),
      }),
      succeed: assign({
        outcome: ({ context: c, event }) => {
          const outcome = kind.outcome(c, event);
          // No beat yet: the first is still due within what is left of its delay; otherwise at once.
          const firstBeatWithin = c.beats > 0 ? 0 : Math.max(0, c.heartbeatInterval - c.firstBeatDelay);
          return outcome.ok ? { ...outcome, firstBeatWithin } : outcome;
        },
      }),
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
        entry: 'requestSocket',
        on: {
          // The handshake's heartbeat runs from HELLO (through an identify turn too) until the
          // reconnect ends; its own id, as the ready session's heartbeat is a different actor.
          'heartbeat.beat': { actions: ['sendHeartbeat', 'countBeat'] },
          'xstate.done.actor.handshakeHeartbeat': { target: 'failed', actions: assign({ outcome: failure({ type: 'zombie' }) }) },
          'xstate.error.actor.handshakeHeartbeat': {
            target: 'failed',
            actions: assign({
              outcome: ({ event }) =>
                failure({ type: 'socketFailure', message: `heartbeat crashed: ${errorMessage(event.error)}` }),
            }),
          },
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
                target: helloTarget,
                actions: [
                  assign({ heartbeatInterval: ({ event }) => (event.type === 'gateway.hello' ? event.heartbeatInterval : 0) }),
                  'drawFirstBeat',
                  'startHandshakeHeartbeat',
                  ...(kind.waitsForTurn ? [] : ['sendHandshake' as const]),
                ],
              },
            },
            after: { helloTimeout: { target: failed, actions: assign({ outcome: failure({ type: 'helloTimeout' }) }) } },
          },
          // No timer here: a turn can be hours away when the daily IDENTIFY budget is spent. A close,
          // op 7/9 or a bad frame still ends the attempt (handled on `handshake`), aborting the wait.
          ...(kind.waitsForTurn
            ? {
                awaitingTurn: {
                  invoke: {
                    id: 'identifyTurn',
                    src: 'identifyTurn' as const,
                    input: ({ context: c }: { context: ReconnectContext }) => ({ connection: c.connection }),
                    onError: {
                      target: failed,
                      actions: assign({
                        outcome: ({ event }) => failure({ type: 'identifyPermitFailed', message: errorMessage(event.error) }),
                      }),
                    },
                  },
                  on: {
                    'identify.turn': { target: kind.state, actions: 'sendHandshake' as const },
                    'identify.turnFailed': {
                      target: failed,
                      actions: assign({
                        outcome: ({ event }) =>
                          failure({ type: 'identifyPermitFailed', message: event.type === 'identify.turnFailed' ? event.message : '' }),
                      }),
                    },
                  },
                },
              }
            : {}),
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
