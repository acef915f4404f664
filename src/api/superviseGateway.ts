import { assign, createActor, type AnyActorRef, type InspectionEvent } from 'xstate';
import type { Gateway, GatewayOptions, GatewayStateChange } from './createGateway.ts';
import { openConnection, type ConnectionRef } from '../connection/connection.ts';
import type { GatewayFailure } from '../machines/gatewayMachine.ts';
import { supervisorMachine, type SupervisorOptions } from '../machines/supervisorMachine.ts';
import type { DispatchPayload } from '../types.ts';
import { GatewayError, asLifelineError, messageOf, observed, type LifelineError } from './errors.ts';
import type { HeartbeatRoundTrip } from '../core/heartbeat.ts';
import {
  gatewayEventNames,
  gatewayHandle,
  gatewaySettings,
  type GatewayActor,
  type GatewayEvents,
  type GatewayHandle,
} from './gatewayHandle.ts';
import { Inspectors, type InspectOption } from './inspectors.ts';
import { Listeners } from './listeners.ts';
import { validateOptions, validateSupervisorOptions } from './options.ts';
import { ReadyWaiters } from './readyWaiters.ts';

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
  on(event: 'error', listener: (error: LifelineError) => void): () => void;
  /** each acknowledged heartbeat of the running gateway */
  on(event: 'heartbeat', listener: (roundTrip: HeartbeatRoundTrip) => void): () => void;
  /** one human-readable line per lifecycle step of each run; with no listener no line is built */
  on(event: 'debug', listener: (line: string) => void): () => void;
  on(event: 'supervisor', listener: (state: SupervisorStateChange) => void): () => void;
  /** resolves at the first READY of any run; rejects if the supervisor ends (fatal, or stopped) first */
  start(): Promise<void>;
  /** closes an open breaker: a new gateway starts at once (or once the old socket has closed) */
  retry(): void;
  /** stops the running gateway (within drain + terminateGrace) and the supervisor */
  stop(): Promise<void>;
  /** the round trip of the last acknowledged heartbeat of any run, in ms, or null before the first */
  latency(): number | null;
  /** the gateway of the current run, if one is running */
  readonly gateway: Gateway | undefined;
  readonly status: SupervisorStatus;
  readonly actor: ReturnType<typeof createActor<typeof supervisorMachine>>;
}

type SupervisorEvents = GatewayEvents & { supervisor: SupervisorStateChange };

function supervisorStatus(value: unknown): SupervisorStatus {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as SupervisorStatus;
}

/**
 * A gateway under a supervisor with a circuit breaker (see `supervisorMachine`). The supervisor's
 * actor is the only one this creates: each run's gateway is its child (`gateway`), in the same
 * actor system, with a connection of its own. Listeners given here follow the gateway from run to
 * run; dispatches and errors come straight from the connection's I/O.
 */
export function superviseGateway(options: GatewayOptions & { supervisor?: Partial<SupervisorOptions> }): SupervisedGateway {
  // Checked here, synchronously: inside a run the same error could only end the supervisor later.
  validateOptions(options, 'superviseGateway');
  const { supervisor: supervisorOptions, ...gatewayOptions } = options;
  validateSupervisorOptions(supervisorOptions);
  const listeners = new Listeners<SupervisorEvents>([...gatewayEventNames, 'supervisor']);
  let latency: number | null = null;
  const report = (error: Error) => listeners.emit('error', asLifelineError(error));
  let inspectors: Inspectors | undefined;
  const addInspector = (observer: InspectOption) => (inspectors ??= new Inspectors(report)).add(observer);
  if (options.inspect) addInspector(options.inspect);
  const waiters = new ReadyWaiters();

  /** Each run's handle, by the connection the supervisor opened for it. */
  const handles = new WeakMap<ConnectionRef, GatewayHandle>();
  /** Each run's public face, by its gateway actor. */
  const faces = new WeakMap<AnyActorRef, Gateway>();
  const openRunConnection = () => {
    const runListeners = new Listeners<GatewayEvents>(gatewayEventNames);
    runListeners.on('dispatch', (payload) => listeners.emit('dispatch', payload));
    runListeners.on('heartbeat', (roundTrip) => {
      latency = roundTrip.latencyMs;
      listeners.emit('heartbeat', roundTrip);
    });
    runListeners.on('debug', (line) => listeners.emit('debug', line));
    runListeners.on('error', report);
    runListeners.on('state', (state) => {
      listeners.emit('state', state);
      if (state.state === 'ready') waiters.ready(state.handshake ?? null);
    });
    const handle = gatewayHandle(gatewayOptions, runListeners, addInspector, () => listeners.has('debug'));
    const connection = openConnection({ io: handle.io });
    handles.set(connection, handle);
    return connection;
  };

  const actor = createActor(supervisorMachine.provide({ actions: { openConnection: assign({ connection: openRunConnection }) } }), {
    input: { gateway: gatewaySettings(gatewayOptions), supervisor: supervisorOptions },
    inspect: (event: InspectionEvent) => inspectors?.notify(event),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // The run's gateway actor exists and has not started yet: its face follows it from the start.
  actor.on('run', ({ connection }) => {
    const handle = connection && handles.get(connection);
    const child = actor.getSnapshot().children.gateway;
    if (!handle || !child) return;
    faces.set(child, handle.attach(child as GatewayActor).gateway);
  });

  let lastKey = '';
  const onSnapshot = (snapshot: ReturnType<typeof actor.getSnapshot>) => {
    const state = supervisorStatus(snapshot.value);
    const { restarts, runs, lastFailure } = snapshot.context;
    const key = `${state}|${restarts}|${runs}`;
    if (key !== lastKey) {
      lastKey = key;
      listeners.emit('supervisor', { state, restarts, runs, lastFailure: lastFailure ?? undefined });
      if (state === 'open') {
        report(
          new GatewayError(
            'BREAKER_OPEN',
            `the restart budget is spent (${restarts} restarts without a stable run); the supervisor stays down until retry()`,
          ),
        );
      }
    }
    if (snapshot.status === 'done') {
      waiters.rejectAll(
        state === 'failed' && lastFailure
          ? new GatewayError('FAILED', lastFailure.message)
          : new GatewayError('STOPPED', 'the supervisor stopped before a gateway was ready'),
      );
    }
  };
  // Every observer has an error handler: XState rethrows an actor's error (asynchronously, out of
  // reach of any try/catch) when one of its observers has none.
  actor.subscribe({
    next: onSnapshot,
    error: (error) => {
      report(new GatewayError('ACTOR_FAILED', `the supervisor failed: ${messageOf(error)}`));
      waiters.rejectAll(new GatewayError('FAILED', 'the supervisor failed'));
    },
  });
  const finished = new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve(), error: () => resolve() }));
  actor.start();
  // Aborting stops the supervisor, whatever it is doing (running, cooling down, or open).
  const onAbort = () => void supervised.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  void finished.then(() => options.signal?.removeEventListener('abort', onAbort));

  const current = () => {
    const child = actor.getSnapshot().children.gateway;
    return child ? faces.get(child) : undefined;
  };
  const supervised: SupervisedGateway = {
    on: ((event: keyof SupervisorEvents, listener: (value: SupervisorEvents[keyof SupervisorEvents]) => void) =>
      listeners.on(event, listener)) as SupervisedGateway['on'],
    start() {
      if (current()?.status === 'ready') return Promise.resolve();
      if (actor.getSnapshot().status !== 'active') return observed(Promise.reject(new GatewayError('STOPPED', 'the supervisor has ended')));
      const ready = observed(waiters.wait(false));
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
    latency: () => latency,
    get gateway() {
      return current();
    },
    get status() {
      return supervisorStatus(actor.getSnapshot().value);
    },
    actor,
  };
  if (options.signal?.aborted) onAbort();
  return supervised;
}
