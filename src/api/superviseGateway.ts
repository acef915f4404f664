import { createActor, fromCallback } from 'xstate';
import { createGateway, crashOutput, GatewayError, type Gateway, type GatewayOptions, type GatewayStateChange } from './createGateway.ts';
import type { GatewayFailure, GatewayOutput } from '../machines/gatewayMachine.ts';
import { supervisorMachine, type RunEnded, type SupervisorOptions } from '../machines/supervisorMachine.ts';
import type { DispatchPayload } from '../types.ts';
import { Listeners } from './listeners.ts';
import { validateOptions, validateSupervisorOptions } from './options.ts';

export type SupervisorStatus = 'idle' | 'running' | 'coolingDown' | 'open' | 'stopped' | 'failed';

export interface SupervisorStateChange {
  state: SupervisorStatus;
  /** restarts since the budget was last refilled */
  restarts: number;
  /** gateway runs started so far */
  runs: number;
  lastFailure?: GatewayFailure;
}

export interface SupervisedGateway {
  on(event: 'dispatch', listener: (payload: DispatchPayload) => void): () => void;
  on(event: 'state', listener: (state: GatewayStateChange) => void): () => void;
  on(event: 'error', listener: (error: Error) => void): () => void;
  on(event: 'supervisor', listener: (state: SupervisorStateChange) => void): () => void;
  /** resolves at the first READY of any run; rejects if the supervisor ends (fatal, or stopped) first */
  start(): Promise<void>;
  /** closes an open breaker: a new gateway starts at once (or once the old socket has closed) */
  retry(): void;
  /** stops the running gateway (within drain + terminateGrace) and the supervisor */
  stop(): Promise<void>;
  /** the gateway of the current run, if one is running */
  readonly gateway: Gateway | undefined;
  readonly status: SupervisorStatus;
  readonly actor: ReturnType<typeof createActor<typeof supervisorMachine>>;
}

type SupervisorEvents = {
  dispatch: DispatchPayload;
  state: GatewayStateChange;
  error: Error;
  supervisor: SupervisorStateChange;
};

/**
 * A gateway under a supervisor with a circuit breaker (see `supervisorMachine`). Each run is a new
 * `createGateway(options)`; listeners given here follow the gateway from run to run.
 */
export function superviseGateway(options: GatewayOptions & { supervisor?: Partial<SupervisorOptions> }): SupervisedGateway {
  // Checked here, synchronously: inside a run the same error could only end the supervisor later.
  validateOptions(options, 'superviseGateway');
  const { supervisor: supervisorOptions, ...gatewayOptions } = options;
  validateSupervisorOptions(supervisorOptions);
  const listeners = new Listeners<SupervisorEvents>(['dispatch', 'state', 'error', 'supervisor']);
  const emit = <K extends keyof SupervisorEvents>(event: K, value: SupervisorEvents[K]) => listeners.emit(event, value);
  let current: Gateway | undefined;
  let readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  const gatewayRun = fromCallback<{ type: 'stop' }, { run: number }>(({ sendBack, receive }) => {
    const gateway = createGateway(gatewayOptions);
    current = gateway;
    gateway.on('dispatch', (payload) => emit('dispatch', payload));
    gateway.on('error', (error) => emit('error', error));
    gateway.on('state', (state) => {
      emit('state', state);
      if (state.state === 'ready') {
        for (const waiter of readyWaiters) waiter.resolve();
        readyWaiters = [];
      }
    });
    const { connection } = gateway.actor.getSnapshot().context;
    const ended = (output: GatewayOutput) => {
      if (current === gateway) current = undefined;
      const event: RunEnded = { type: 'gateway.ended', output, connection };
      sendBack(event);
    };
    // stop() resolves with the output once the gateway has ended, whichever way it ended.
    const subscription = gateway.actor.subscribe({
      complete: () => void gateway.stop().then(ended),
      error: (error) => ended(crashOutput(`the gateway actor failed: ${error instanceof Error ? error.message : String(error)}`)),
    });
    void gateway.start().catch(() => {});
    receive(() => void gateway.stop());
    return () => {
      subscription.unsubscribe();
      // The supervisor only lets a run go once its gateway ended; this is for the supervisor's own stop.
      void gateway.stop();
    };
  });

  const actor = createActor(supervisorMachine.provide({ actors: { gatewayRun } }), { input: supervisorOptions });
  let lastKey = '';
  const onSnapshot = (snapshot: ReturnType<typeof actor.getSnapshot>) => {
    const state = (typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0]) as SupervisorStatus;
    const { restarts, runs, lastFailure } = snapshot.context;
    const key = `${state}|${restarts}|${runs}`;
    if (key !== lastKey) {
      lastKey = key;
      emit('supervisor', { state, restarts, runs, lastFailure: lastFailure ?? undefined });
      if (state === 'open') {
        emit('error', new GatewayError('BREAKER_OPEN', `the restart budget is spent (${restarts} restarts without a stable run); the supervisor stays down until retry()`));
      }
    }
    if (snapshot.status === 'done') {
      const error =
        state === 'failed' && lastFailure
          ? new GatewayError('FAILED', lastFailure.message)
          : new GatewayError('STOPPED', 'the supervisor stopped before a gateway was ready');
      for (const waiter of readyWaiters) waiter.reject(error);
      readyWaiters = [];
    }
  };
  // Every observer has an error handler: XState rethrows an actor's error (asynchronously, out of
  // reach of any try/catch) when one of its observers has none.
  actor.subscribe({
    next: onSnapshot,
    error: (error) => {
      emit('error', new GatewayError('ACTOR_FAILED', `the supervisor failed: ${error instanceof Error ? error.message : String(error)}`));
      const failed = new GatewayError('FAILED', 'the supervisor failed');
      for (const waiter of readyWaiters) waiter.reject(failed);
      readyWaiters = [];
    },
  });
  const finished = new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve(), error: () => resolve() }));
  actor.start();
  // Aborting stops the supervisor, whatever it is doing (running, cooling down, or open).
  const onAbort = () => void supervised.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  void finished.then(() => options.signal?.removeEventListener('abort', onAbort));

  const supervised: SupervisedGateway = {
    on: ((event: keyof SupervisorEvents, listener: (value: SupervisorEvents[keyof SupervisorEvents]) => void) =>
      listeners.on(event, listener)) as SupervisedGateway['on'],
    start() {
      const ready = new Promise<void>((resolve, reject) => {
        if (current?.status === 'ready') return resolve();
        if (actor.getSnapshot().status !== 'active') return reject(new GatewayError('STOPPED', 'the supervisor has ended'));
        readyWaiters.push({ resolve, reject });
      });
      ready.catch(() => {});
      if (actor.getSnapshot().value === 'idle') actor.send({ type: 'start' });
      return ready;
    },
    retry() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'retry' });
    },
    stop() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'stop' });
      return finished;
    },
    get gateway() {
      return current;
    },
    get status() {
      const value = actor.getSnapshot().value;
      return (typeof value === 'string' ? value : Object.keys(value)[0]) as SupervisorStatus;
    },
    actor,
  };
  if (options.signal?.aborted) onAbort();
  return supervised;
}
