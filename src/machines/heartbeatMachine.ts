import { assign, sendParent, setup } from 'xstate';
import { connectionOf, type ConnectionRef } from './connection.ts';

export interface HeartbeatInput {
  interval: number;
  /** the connection whose line counts every frame received; any frame proves the peer alive */
  connection: ConnectionRef;
  /**
   * The first beat comes at a random point within this many ms (default: `interval`). The gateway
   * starts heartbeats at READY/RESUMED and passes `interval − readyTimeout`, so that the first beat
   * still comes within one interval of HELLO, as the server expects.
   */
  firstBeatWithin?: number;
  /** the exact delay of the first beat, when the caller drew it (overrides `firstBeatWithin`) */
  firstBeatAfter?: number;
}

export type HeartbeatControl = { type: 'ack' };

const framesReceived = (input: HeartbeatInput) => connectionOf(input.connection).line.framesReceived;

/**
 * Asks its parent to send a heartbeat every `interval`, the first one after `interval × random` so
 * that many shards do not beat in step. When the next beat is due and nothing at all arrived since
 * the last one (no ACK, no other frame), the connection is a zombie: the machine ends in `zombie`
 * and the parent recovers. Counting every frame keeps a server that is busy (its ACK queued behind
 * a burst of events) from being mistaken for a dead one; a quiet server still ACKs.
 */
export const heartbeatMachine = setup({
  types: {
    input: {} as HeartbeatInput,
    context: {} as HeartbeatInput & { acked: boolean; framesAtBeat: number },
    events: {} as HeartbeatControl,
  },
  delays: {
    firstBeat: ({ context }) => context.firstBeatAfter ?? (context.firstBeatWithin ?? context.interval) * Math.random(),
    interval: ({ context }) => context.interval,
  },
  guards: {
    // Reads the live frame count: frames are counted outside the statechart so they cost no transition.
    aliveSinceLastBeat: ({ context }) => context.acked || framesReceived(context) !== context.framesAtBeat,
  },
  actions: {
    sendBeat: sendParent({ type: 'heartbeat.beat' }),
    expectAck: assign({ acked: false, framesAtBeat: ({ context }) => framesReceived(context) }),
    recordAck: assign({ acked: true }),
  },
}).createMachine({
  id: 'heartbeat',
  context: ({ input }) => ({ ...input, acked: true, framesAtBeat: framesReceived(input) }),
  initial: 'waitingFirstBeat',
  states: {
    waitingFirstBeat: {
      after: { firstBeat: { target: 'beating', actions: ['sendBeat', 'expectAck'] } },
    },
    beating: {
      on: { ack: { actions: 'recordAck' } },
      after: {
        interval: [
          { guard: 'aliveSinceLastBeat', target: 'beating', reenter: true, actions: ['sendBeat', 'expectAck'] },
          { target: 'zombie' },
        ],
      },
    },
    zombie: { type: 'final' },
  },
});
