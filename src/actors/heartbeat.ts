import { assign, sendParent, setup } from 'xstate';

export interface HeartbeatInput {
  interval: number;
}

export type HeartbeatControl = { type: 'ack' };

/**
 * Asks its parent to send a heartbeat every `interval`, the first one after `interval × random` so
 * that many shards do not beat in step. A beat that is still unacknowledged when the next one is
 * due means the connection is a zombie: the machine ends in `zombie` and the parent recovers.
 */
export const heartbeatMachine = setup({
  types: {
    input: {} as HeartbeatInput,
    context: {} as { interval: number; acked: boolean },
    events: {} as HeartbeatControl,
  },
  delays: {
    firstBeat: ({ context }) => context.interval * Math.random(),
    interval: ({ context }) => context.interval,
  },
  guards: {
    lastBeatAcked: ({ context }) => context.acked,
  },
  actions: {
    sendBeat: sendParent({ type: 'heartbeat.beat' }),
    expectAck: assign({ acked: false }),
    recordAck: assign({ acked: true }),
  },
}).createMachine({
  id: 'heartbeat',
  context: ({ input }) => ({ interval: input.interval, acked: true }),
  initial: 'waitingFirstBeat',
  states: {
    waitingFirstBeat: {
      after: { firstBeat: { target: 'beating', actions: ['sendBeat', 'expectAck'] } },
    },
    beating: {
      on: { ack: { actions: 'recordAck' } },
      after: {
        interval: [
          { guard: 'lastBeatAcked', target: 'beating', reenter: true, actions: ['sendBeat', 'expectAck'] },
          { target: 'zombie' },
        ],
      },
    },
    zombie: { type: 'final' },
  },
});
