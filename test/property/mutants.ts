import { createMachine, type AnyStateMachine } from 'xstate';
import { drainMachine } from '../../src/machines/drainMachine.ts';
import type { GatewayMachine } from './drivers.ts';

/** A drain that claims success without touching the socket. */
const drainThatLies = createMachine({ id: 'drain', initial: 'done', states: { done: { type: 'final' } }, output: { drained: true } });

export interface Mutant {
  /** what the broken engine does wrong */
  what: string;
  adapt: (machine: GatewayMachine) => GatewayMachine;
  /** the violation the property run must report */
  caughtBy: RegExp;
}

/**
 * Engines broken on purpose, one guarantee each. The property run must catch every one of them:
 * that is what shows the invariants are not vacuous.
 */
export const mutants: Mutant[] = [
  {
    what: 'a fresh session keeps the old sequence ledger',
    adapt: (m) => m.provide({ actions: { resetLedger: () => {} } }),
    caughtBy: /delivered \d+ events but the server dispatched \d+/,
  },
  {
    what: 'a fresh request joins a resume in flight instead of upgrading it',
    adapt: (m) => m.provide({ guards: { wantsFresh: () => false } }),
    caughtBy: /RESUME of session-\d+ sent after a fresh request/,
  },
  {
    what: 'a fatal close is retried',
    adapt: (m) => m.provide({ guards: { planIsFatal: () => false } }),
    caughtBy: /socket was created after the engine gave up/,
  },
  {
    what: 'a fatal close ends in stopped',
    adapt: (m) => m.provide({ guards: { hasFailure: () => false } }),
    caughtBy: /ended in stopped with output failed, expected failed/,
  },
  {
    what: 'the shutdown drain waits ten minutes after terminate()',
    adapt: (m) => m.provide({ actors: { drain: drainMachine.provide({ delays: { terminateGrace: 600_000 } }) } }),
    caughtBy: /not done within drain \+ grace/,
  },
  {
    what: 'a fresh reconnect opens its socket without draining the old one',
    adapt: (m) => {
      const fresh = m.implementations.actors.freshReconnect as AnyStateMachine;
      return m.provide({ actors: { freshReconnect: fresh.provide({ actors: { drain: drainThatLies } }) as never } });
    },
    caughtBy: /refusing to open a second one|two sockets live/,
  },
];
