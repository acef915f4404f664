import { assign, emit, sendTo, setup, stateIn } from 'xstate';
import type { GatewayFailure, GatewayInput, GatewayOutput } from './gatewayMachine.ts';
import { fatalCloseCodes } from '../core/recovery.ts';
import { defaultSupervisorOptions } from '../core/defaults.ts';
import { connectionOf, openConnection, type ConnectionRef } from '../connection/connection.ts';
import { createGatewayMachine } from './createGatewayMachine.ts';

export interface SupervisorOptions {
  /** restarts allowed before the breaker opens */
  maxRestarts: number;
  /** a gateway that runs this long without failing refills the restart budget */
  windowMs: number;
  /** cooldown before restart n: between half and all of min(maxMs, baseMs · 2^n) */
  cooldownBaseMs: number;
  cooldownMaxMs: number;
}

export type SupervisorEvent = { type: 'start' } | { type: 'stop' } | { type: 'retry' };

/** What every run's gateway is given; each run opens a connection of its own besides. */
export type SupervisedGatewayInput = Omit<GatewayInput, 'connection'>;

export interface SupervisorInput {
  /** the gateway each run starts (plain data: its I/O comes with the connection) */
  gateway: SupervisedGatewayInput;
  supervisor?: Partial<SupervisorOptions>;
}

/**
 * Emitted as a run begins, after its gateway actor is made and before it starts, so that whoever
 * follows the gateway (superviseGateway's public face) misses none of its events.
 */
export type SupervisorEmitted = { type: 'run'; run: number; connection: ConnectionRef | null };

export interface SupervisorContext {
  options: SupervisorOptions;
  /** restarts since the budget was last refilled */
  restarts: number;
  /** gateway runs started, the first included */
  runs: number;
  lastFailure: GatewayFailure | null;
  gateway: SupervisedGatewayInput;
  /** the connection of the running gateway, or of the one that ended last, whose socket a restart waits for */
  connection: ConnectionRef | null;
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

/**
 * Keeps a gateway running across failures that end it. A gateway that failed for a reason a
 * restart can fix (a drain that failed closed, a session that never became ready, a socket that
 * could not be opened) is started again after a cooldown; a fatal close code is final. Restarts
 * are counted: past `maxRestarts` without a stable run in between, the breaker opens and stays open
 * until `retry`. A restart waits until the previous gateway's socket has really closed, so two
 * sockets never exist at once.
 *
 * Each run invokes the gateway statechart as the child `gateway`, in this actor's system, on a new
 * connection; the run's end is the child's output. The default `gateway` is the real engine: the
 * I/O its sockets use comes with the connection (superviseGateway provides `openConnection` so).
 */
export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorInput,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    emitted: {} as SupervisorEmitted,
  },
  actors: { gateway: createGatewayMachine() },
  delays: {
    cooldown: ({ context }) => {
      const { cooldownBaseMs, cooldownMaxMs } = context.options;
      const ceiling = Math.min(cooldownMaxMs, cooldownBaseMs * 2 ** Math.min(context.restarts, 30));
      return ceiling / 2 + (Math.random() * ceiling) / 2;
    },
    window: ({ context }) => context.options.windowMs,
  },
  guards: {
    stopping: stateIn({ running: 'stopping' }),
    endedStopped: (_, output: GatewayOutput) => output.status === 'stopped',
    endedFatal: (_, output: GatewayOutput) => output.status === 'failed' && isFatalFailure(output.failure),
    // A retry() always buys one attempt, even with maxRestarts 0, so that it can start a gateway
    // once the old socket has closed (or terminate a stuck one once more).
    budgetSpent: ({ context }) =>
      context.restarts >= (context.retrying ? Math.max(1, context.options.maxRestarts) : context.options.maxRestarts),
    previousSocketStillLive: ({ context }) => (context.connection ? connectionOf(context.connection).line.isLive : false),
  },
  actions: {
    recordEnd: assign((_, output: GatewayOutput) => ({ lastFailure: output.status === 'failed' ? output.failure : null })),
    recordCrash: assign((_, { error }: { error: unknown }) => {
      const message = `the gateway actor failed: ${errorText(error)}`;
      return { lastFailure: { message, trigger: { type: 'socketFailure' as const, message } } };
    }),
    countRun: assign({ runs: ({ context }) => context.runs + 1, retrying: false }),
    // A new connection per run: the old one may still name a socket that has not closed.
    // superviseGateway provides one whose connection carries the gateway's I/O.
    openConnection: assign({ connection: () => openConnection() }),
    announceRun: emit(({ context }) => ({ type: 'run' as const, run: context.runs, connection: context.connection })),
    startGateway: sendTo('gateway', { type: 'start' }),
    stopGateway: sendTo('gateway', { type: 'stop' }),
    markRetrying: assign({ retrying: true }),
    countRestart: assign({ restarts: ({ context }) => context.restarts + 1 }),
    refillBudget: assign({ restarts: 0 }),
    // One more terminate() of the socket that would not close.
    terminatePrevious: ({ context }) => {
      if (context.connection) connectionOf(context.connection).line.socket?.terminate();
    },
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    options: { ...defaultSupervisorOptions, ...input.supervisor },
    restarts: 0,
    runs: 0,
    lastFailure: null,
    gateway: input.gateway,
    connection: null,
    retrying: false,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: { start: 'running', stop: 'stopped' },
    },
    running: {
      // The run is announced before its gateway starts (emits are deferred in order with the spawn).
      entry: ['countRun', 'openConnection', 'announceRun'],
      invoke: {
        id: 'gateway',
        src: 'gateway',
        input: ({ context }) => ({ ...context.gateway, ...(context.connection ? { connection: context.connection } : {}) }),
        onDone: [
          // Asked to stop: however the gateway ended, the supervisor stops with it.
          { guard: 'stopping', target: 'stopped', actions: { type: 'recordEnd', params: ({ event }) => event.output } },
          {
            guard: { type: 'endedStopped', params: ({ event }) => event.output },
            target: 'stopped',
            actions: { type: 'recordEnd', params: ({ event }) => event.output },
          },
          {
            guard: { type: 'endedFatal', params: ({ event }) => event.output },
            target: 'failed',
            actions: { type: 'recordEnd', params: ({ event }) => event.output },
          },
          { target: 'coolingDown', actions: { type: 'recordEnd', params: ({ event }) => event.output } },
        ],
        // The gateway actor itself failed (a bug, not a fault it handles): restarted like a failed gateway.
        onError: [
          { guard: 'stopping', target: 'stopped', actions: { type: 'recordCrash', params: ({ event }) => event } },
          { target: 'coolingDown', actions: { type: 'recordCrash', params: ({ event }) => event } },
        ],
      },
      initial: 'active',
      states: {
        active: {
          entry: 'startGateway',
          after: { window: { actions: 'refillBudget' } },
          on: { stop: { target: 'stopping', actions: 'stopGateway' } },
        },
        // The gateway drains its socket; its end ends the supervisor (see onDone).
        stopping: {},
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
