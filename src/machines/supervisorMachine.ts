import { assign, fromCallback, sendTo, setup } from 'xstate';
import type { GatewayFailure, GatewayOutput } from './gatewayMachine.ts';
import { fatalCloseCodes } from '../core/recovery.ts';
import { connectionOf, type ConnectionRef } from './connection.ts';

export interface SupervisorOptions {
  /** restarts allowed before the breaker opens */
  maxRestarts: number;
  /** a gateway that runs this long without failing refills the restart budget */
  windowMs: number;
  /** cooldown before restart n: between half and all of min(maxMs, baseMs · 2^n) */
  cooldownBaseMs: number;
  cooldownMaxMs: number;
}

export const defaultSupervisorOptions: SupervisorOptions = {
  maxRestarts: 5,
  windowMs: 10 * 60_000,
  cooldownBaseMs: 1_000,
  cooldownMaxMs: 60_000,
};

/** What a gateway run reports when its gateway has ended. */
export interface RunEnded {
  type: 'gateway.ended';
  output: GatewayOutput;
  /** the ended gateway's connection: its socket may still not be CLOSED (a drain that failed closed) */
  connection: ConnectionRef;
}

export type SupervisorEvent = { type: 'start' } | { type: 'stop' } | { type: 'retry' } | RunEnded;

export interface SupervisorContext {
  options: SupervisorOptions;
  /** restarts since the budget was last refilled */
  restarts: number;
  /** gateway runs started, the first included */
  runs: number;
  lastFailure: GatewayFailure | null;
  /** the connection of the run that ended last, whose socket a restart waits for */
  previous: ConnectionRef | null;
  /** retry() was called and no run has started since: it grants one restart even with no budget */
  retrying: boolean;
}

/** A failure that restarting cannot fix: the server refused the credentials or the configuration. */
export function isFatalFailure(failure: GatewayFailure): boolean {
  return failure.trigger.type === 'close' && fatalCloseCodes.has(failure.trigger.code);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Placeholder; the real run (a createGateway instance) comes from `superviseGateway`. */
const gatewayRunNotProvided = fromCallback<{ type: 'stop' }, { run: number }>(() => {
  throw new Error('the gatewayRun actor was not provided: use superviseGateway()');
});

/**
 * Keeps a gateway running across failures that end it. A gateway that failed for a reason a
 * restart can fix (a drain that failed closed, a session that never became ready, a socket that
 * could not be opened) is started again after a cooldown; a fatal close code is final. Restarts
 * are counted: past `maxRestarts` without a stable run in between, the breaker opens and stays open
 * until `retry`. A restart waits until the previous gateway's socket has really closed, so two
 * sockets never exist at once.
 */
export const supervisorMachine = setup({
  types: {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- declares the input type for XState
    input: {} as Partial<SupervisorOptions>,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
  },
  actors: { gatewayRun: gatewayRunNotProvided },
  delays: {
    cooldown: ({ context }) => {
      const { cooldownBaseMs, cooldownMaxMs } = context.options;
      const ceiling = Math.min(cooldownMaxMs, cooldownBaseMs * 2 ** Math.min(context.restarts, 30));
      return ceiling / 2 + (Math.random() * ceiling) / 2;
    },
    window: ({ context }) => context.options.windowMs,
  },
  guards: {
    endedStopped: ({ event }) => event.type === 'gateway.ended' && event.output.status === 'stopped',
    endedFatal: ({ event }) =>
      event.type === 'gateway.ended' && event.output.status === 'failed' && isFatalFailure(event.output.failure),
    // A retry() always buys one attempt, even with maxRestarts 0, so that it can start a gateway
    // once the old socket has closed (or terminate a stuck one once more).
    budgetSpent: ({ context }) =>
      context.restarts >= (context.retrying ? Math.max(1, context.options.maxRestarts) : context.options.maxRestarts),
    previousSocketStillLive: ({ context }) => (context.previous ? connectionOf(context.previous).line.isLive : false),
  },
  actions: {
    recordEnd: assign(({ event }) =>
      event.type === 'gateway.ended'
        ? {
            lastFailure: event.output.status === 'failed' ? event.output.failure : null,
            previous: event.connection,
          }
        : {},
    ),
    recordRunCrash: assign({
      lastFailure: ({ event }) => {
        const message = `the gateway run failed: ${errorText((event as { error?: unknown }).error)}`;
        return { message, trigger: { type: 'socketFailure' as const, message } };
      },
    }),
    countRun: assign({ runs: ({ context }) => context.runs + 1, retrying: false }),
    markRetrying: assign({ retrying: true }),
    countRestart: assign({ restarts: ({ context }) => context.restarts + 1 }),
    refillBudget: assign({ restarts: 0 }),
    // One more terminate() of the socket that would not close.
    terminatePrevious: ({ context }) => {
      if (context.previous) connectionOf(context.previous).line.socket?.terminate();
    },
    stopRun: sendTo('gatewayRun', { type: 'stop' }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    options: { ...defaultSupervisorOptions, ...input },
    restarts: 0,
    runs: 0,
    lastFailure: null,
    previous: null,
    retrying: false,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: { start: 'running', stop: 'stopped' },
    },
    running: {
      entry: 'countRun',
      invoke: {
        id: 'gatewayRun',
        src: 'gatewayRun',
        input: ({ context }) => ({ run: context.runs }),
        // A run that could not even start a gateway would fail the same way again: no restart.
        onError: { target: 'failed', actions: 'recordRunCrash' },
      },
      initial: 'active',
      states: {
        active: {
          after: { window: { actions: 'refillBudget' } },
          on: { stop: { target: 'stopping', actions: 'stopRun' } },
        },
        // The gateway drains its socket; however it ends now, the supervisor stops with it.
        stopping: {
          on: { 'gateway.ended': { target: '#supervisor.stopped', actions: 'recordEnd' } },
        },
      },
      on: {
        'gateway.ended': [
          { guard: 'endedStopped', target: 'stopped', actions: 'recordEnd' },
          { guard: 'endedFatal', target: 'failed', actions: 'recordEnd' },
          { target: 'coolingDown', actions: 'recordEnd' },
        ],
      },
    },
    coolingDown: {
      after: {
        cooldown: [
          { guard: 'budgetSpent', target: 'open' },
          // A socket that never closed is given another terminate(); the attempt uses up budget.
          { guard: 'previousSocketStillLive', target: 'coolingDown', reenter: true, actions: ['countRestart', 'terminatePrevious'] },
          { target: 'running', actions: 'countRestart' },
        ],
      },
      on: { stop: 'stopped' },
    },
    open: {
      on: {
        retry: [
          { guard: 'previousSocketStillLive', target: 'coolingDown', actions: ['refillBudget', 'markRetrying', 'terminatePrevious'] },
          { target: 'running', actions: 'refillBudget' },
        ],
        stop: 'stopped',
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
