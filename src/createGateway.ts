import { createActor, type ActorOptions, type AnyActorLogic, type InspectionEvent, type Observer } from 'xstate';
import type { BackoffOptions, CreateSocket, DispatchPayload, GatewayProtocol, Timeouts } from './types.ts';
import { wsSocketFactory, type WsSocketOptions } from './adapters/ws.ts';
import { createGatewayMachine } from './machines/createGatewayMachine.ts';
import type { GatewayFailure, GatewayOutput } from './machines/gateway.ts';
import { describeTrigger, isFault, type RecoveryPlan } from './machines/recovery.ts';
import { validateOptions } from './options.ts';
import { defaultOutboxOptions, Outbox, OutboxError, type OutboxOptions } from './outbox.ts';

export type InspectOption =
  | Observer<InspectionEvent>
  | ((event: InspectionEvent) => void)
  /** a `@statelyai/inspect` inspector (createBrowserInspector / createWebSocketInspector) */
  | { inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void) };

export interface GatewayOptions {
  /** the gateway URL, e.g. wss://gateway.discord.gg/?v=10&encoding=json */
  url: string;
  protocol: GatewayProtocol & { allowedResumeHosts?: readonly string[] };
  timeouts?: Partial<Timeouts>;
  backoff?: Partial<BackoffOptions>;
  /** aborting stops the gateway, as stop() does */
  signal?: AbortSignal;
  /** builds each socket; defaults to a `ws` client */
  createSocket?: CreateSocket;
  /** options for the default `ws` socket */
  socket?: WsSocketOptions;
  /** resume URLs may point at these hosts too (exact, or `*.example.com`) */
  allowedResumeHosts?: readonly string[];
  inspect?: InspectOption;
  /** limits of outgoing user payloads: queue size, payload size, send rate (see README) */
  outbox?: Partial<OutboxOptions>;
  /** a clock for the statechart's timers (XState's SimulatedClock in tests) */
  clock?: ActorOptions<AnyActorLogic>['clock'];
}

export type GatewayStatus = 'idle' | 'connecting' | 'ready' | 'closing' | 'stopped' | 'failed';

export interface GatewayStateChange {
  state: GatewayStatus;
  /** while connecting: which reconnect actor runs */
  kind?: 'fresh' | 'resume';
  /** while connecting: the reconnect actor's own state, e.g. `draining` or `handshake.awaitingHello` */
  phase?: string;
  /** why the gateway is connecting */
  reason?: string;
  /** at ready: the handshake that made it ready, and the time since the fault or request */
  handshake?: 'identify' | 'resume';
  recoveryMs?: number;
  failure?: GatewayFailure;
  generation: number;
}

/** An error reported by the gateway. `code` names the kind; the engine keeps running unless it is fatal. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Gateway {
  on(event: 'dispatch', listener: (payload: DispatchPayload) => void): () => void;
  on(event: 'state', listener: (state: GatewayStateChange) => void): () => void;
  on(event: 'error', listener: (error: Error) => void): () => void;
  /** resolves at READY; rejects if the gateway fails or is stopped first */
  start(): Promise<void>;
  /** `{ fresh: true }`: resolves at READY after a new IDENTIFY; otherwise at the next READY/RESUMED */
  reconnect(options?: { fresh?: boolean }): Promise<void>;
  /**
   * Sends a payload (e.g. a presence update). While the gateway is not ready it waits in a bounded
   * queue and goes out after READY/RESUMED. Resolves once written; rejects (and reports on `error`)
   * when it is too large, the queue is full, a fresh session replaces the one it was meant for, or
   * the gateway stops or fails first.
   */
  send(payload: unknown): Promise<void>;
  /** resolves once stopped, within drain + terminateGrace; never rejects */
  stop(): Promise<GatewayOutput>;
  /**
   * Adds an inspection observer after creation (the `inspect` option, for one attached later, such
   * as the offline inspector); returns its removal. It sees events from now on only; a throw is
   * reported on `error`.
   */
  inspect(observer: InspectOption): () => void;
  readonly status: GatewayStatus;
  readonly actor: ReturnType<typeof createActor<ReturnType<typeof createGatewayMachine>>>;
}

type Listeners = {
  dispatch: Set<(payload: DispatchPayload) => void>;
  state: Set<(state: GatewayStateChange) => void>;
  error: Set<(error: Error) => void>;
};

interface ReadyWaiter {
  afterReadyCount: number;
  needsIdentify: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

const reconnectIds = new Set(['freshReconnect', 'resumeReconnect']);

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, child] = Object.entries(value)[0] ?? [];
    return key === undefined ? '' : child && (typeof child !== 'object' || Object.keys(child).length) ? `${key}.${flatten(child)}` : key;
  }
  return '';
}

function toObserver(inspect: InspectOption | undefined): ((event: InspectionEvent) => void) | undefined {
  if (!inspect) return undefined;
  const target = typeof inspect === 'object' && 'inspect' in inspect ? inspect.inspect : inspect;
  return typeof target === 'function' ? target : (event) => target.next?.(event);
}

/** Marks a promise as observed, so a caller who ignores it never gets an unhandled rejection. */
function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Creates a gateway: the statechart wired to real sockets, with an event API and promises around
 * it. Dispatches reach `on('dispatch')` straight from the socket; everything else is the actor's.
 */
export function createGateway(options: GatewayOptions): Gateway {
  validateOptions(options);
  const listeners: Listeners = { dispatch: new Set(), state: new Set(), error: new Set() };

  const report = (error: Error) => {
    for (const listener of listeners.error) {
      try {
        listener(error);
      } catch {
        // An error handler that throws has nowhere left to report to.
      }
    }
  };
  const deliver = (kind: 'dispatch' | 'state', value: unknown) => {
    for (const listener of listeners[kind] as Set<(value: unknown) => void>) {
      try {
        listener(value);
      } catch (error) {
        report(new GatewayError('LISTENER_THREW', `a ${kind} listener threw: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
  };

  const clock = options.clock ?? { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout) };
  const pendingWrites = new Map<number, (error?: Error) => void>();
  let nextWriteId = 1;
  const outbox = new Outbox(
    { ...defaultOutboxOptions, ...options.outbox },
    {
      write: (data, done) => {
        if (gateway.status !== 'ready') return false;
        const id = nextWriteId++;
        pendingWrites.set(id, done);
        actor.send({ type: 'send', data, id });
        return true;
      },
      // A simulated clock keeps the send window in simulated time too.
      now: () => (options.clock && 'now' in options.clock ? (options.clock as { now(): number }).now() : performance.now()),
      setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
      clearTimeout: (handle) => clock.clearTimeout(handle as never),
    },
  );

  let lastKey = '';
  let reason: string | undefined;
  let faultAt: number | undefined;
  let readyCount = 0;
  let waiters: ReadyWaiter[] = [];

  const observers = new Set<(event: InspectionEvent) => void>();
  const initialObserver = toObserver(options.inspect);
  if (initialObserver) observers.add(initialObserver);
  const inspect = (event: InspectionEvent) => {
    const id = (event.actorRef as { id?: string }).id ?? '';
    if (event.type === '@xstate.snapshot' && reconnectIds.has(id)) {
      const snapshot = event.snapshot as { value?: unknown; status?: string };
      if (snapshot.status === 'active') {
        publish({
          state: 'connecting',
          kind: id === 'freshReconnect' ? 'fresh' : 'resume',
          phase: flatten(snapshot.value),
          reason,
          generation: actor.getSnapshot().context.generation,
        });
      }
    }
    for (const observer of observers) {
      try {
        observer(event);
      } catch (error) {
        // An inspector is an onlooker: its failure must not reach the statechart.
        report(new GatewayError('INSPECTOR_THREW', `the inspect observer threw: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
  };

  const machine = createGatewayMachine({
    createSocket: options.createSocket ?? wsSocketFactory(options.socket),
    protocol: options.protocol,
    onDispatch: (payload) => deliver('dispatch', payload),
    onError: (error) => report(error),
    onSent: (id, error) => {
      const done = pendingWrites.get(id);
      pendingWrites.delete(id);
      done?.(error);
    },
  });
  const actor = createActor(machine, {
    input: {
      url: options.url,
      timeouts: options.timeouts,
      backoff: options.backoff,
      allowedResumeHosts: [...(options.protocol.allowedResumeHosts ?? []), ...(options.allowedResumeHosts ?? [])],
    },
    inspect,
    ...(options.clock ? { clock: options.clock } : {}),
  });

  function publish(change: GatewayStateChange) {
    const key = `${change.state}|${change.kind ?? ''}|${change.phase ?? ''}|${change.generation}`;
    if (key === lastKey) return;
    lastKey = key;
    deliver('state', change);
  }

  actor.on('recovery', ({ plan }: { plan: RecoveryPlan }) => {
    reason = describeTrigger(plan.trigger);
    if (plan.action === 'resume') outbox.pause();
    else if (plan.action === 'fresh' && plan.trigger.type !== 'start') {
      outbox.rejectAll(new OutboxError('SESSION_RESET', 'a fresh session replaced the one this payload was queued for'));
    }
    faultAt ??= performance.now();
    if (isFault(plan.trigger) && plan.trigger.type !== 'protocolError' && plan.trigger.type !== 'close') {
      report(new GatewayError(plan.trigger.type.toUpperCase(), 'message' in plan ? plan.message : reason));
    } else if (plan.action === 'fatal') {
      report(new GatewayError('FATAL_CLOSE', plan.message));
    }
  });
  actor.on('warning', ({ message }: { message: string }) => report(new GatewayError('WARNING', message)));

  const statusOf = (value: unknown): GatewayStatus => {
    const top = flatten(value).split('.')[0];
    return top === 'routing' ? 'connecting' : (top as GatewayStatus);
  };

  actor.subscribe({
    next: (snapshot) => {
      const status = statusOf(snapshot.value);
      const { context } = snapshot;
      if (status === 'ready' && !lastKey.startsWith('ready|')) {
        readyCount += 1;
        const recoveryMs = faultAt === undefined ? undefined : Math.round(performance.now() - faultAt);
        faultAt = undefined;
        publish({ state: 'ready', handshake: context.lastHandshake ?? undefined, recoveryMs, reason, generation: context.generation });
        outbox.open();
        const due = waiters.filter((w) => readyCount > w.afterReadyCount && (!w.needsIdentify || context.lastHandshake === 'identify'));
        waiters = waiters.filter((w) => !due.includes(w));
        for (const waiter of due) waiter.resolve();
      } else if (status !== 'ready' && status !== 'connecting') {
        // `connecting` is published from the reconnect actor's own snapshots, with its phase.
        publish({ state: status, failure: context.failure ?? undefined, reason, generation: context.generation });
      }
      if (snapshot.status === 'done') settleAll(snapshot.output);
    },
    error: (error) => report(error instanceof Error ? error : new Error(String(error))),
  });

  function settleAll(output: GatewayOutput | undefined) {
    outbox.rejectAll(
      output?.status === 'failed'
        ? new OutboxError('FAILED', `the gateway failed before the payload was sent: ${output.failure.message}`)
        : new OutboxError('STOPPED', 'the gateway stopped before the payload was sent'),
    );
    for (const done of pendingWrites.values()) done(new Error('the gateway stopped before the socket confirmed the write'));
    pendingWrites.clear();
    const error =
      output?.status === 'failed'
        ? new GatewayError('FAILED', output.failure.message)
        : new GatewayError('STOPPED', 'the gateway was stopped before it was ready');
    for (const waiter of waiters) waiter.reject(error);
    waiters = [];
    options.signal?.removeEventListener('abort', onAbort);
  }

  const waitForReady = (needsIdentify: boolean) =>
    observed(
      new Promise<void>((resolve, reject) => {
        const snapshot = actor.getSnapshot();
        if (snapshot.status === 'done') {
          return reject(
            snapshot.output?.status === 'failed'
              ? new GatewayError('FAILED', snapshot.output.failure.message)
              : new GatewayError('STOPPED', 'the gateway is stopped'),
          );
        }
        waiters.push({ afterReadyCount: readyCount, needsIdentify, resolve, reject });
      }),
    );

  /** A refused payload is reported on `error` too, for callers who do not await send(). */
  function reportRejection(error: Error): Promise<never> {
    report(error);
    return observed(Promise.reject(error));
  }

  const onAbort = () => void gateway.stop();
  const stopped = new Promise<GatewayOutput>((resolve) => {
    actor.subscribe({ complete: () => resolve(actor.getSnapshot().output ?? { status: 'stopped' }) });
  });

  actor.start();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) actor.send({ type: 'stop' });

  const gateway: Gateway = {
    on(event: keyof Listeners, listener: (value: never) => void) {
      const set = listeners[event] as Set<unknown> | undefined;
      if (!set) throw new TypeError(`unknown event ${JSON.stringify(event)}: use 'dispatch', 'state' or 'error'`);
      set.add(listener);
      return () => void set.delete(listener);
    },
    start() {
      const snapshot = actor.getSnapshot();
      if (snapshot.status === 'active' && statusOf(snapshot.value) === 'ready') return Promise.resolve();
      const ready = waitForReady(false);
      if (snapshot.status === 'active' && snapshot.value === 'idle') actor.send({ type: 'start' });
      return ready;
    },
    reconnect(request = {}) {
      const snapshot = actor.getSnapshot();
      if (snapshot.status === 'active' && snapshot.value === 'idle') {
        return observed(Promise.reject(new GatewayError('NOT_STARTED', 'reconnect() before start()')));
      }
      const ready = waitForReady(request.fresh === true);
      if (snapshot.status === 'active') actor.send({ type: 'reconnect', fresh: request.fresh === true });
      return ready;
    },
    send(payload) {
      let data: string;
      try {
        data = options.protocol.encode(payload);
      } catch (error) {
        return reportRejection(new GatewayError('ENCODE_FAILED', `payload could not be encoded: ${error instanceof Error ? error.message : String(error)}`));
      }
      return observed(outbox.enqueue(data).catch((error: Error) => reportRejection(error)));
    },
    stop() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'stop' });
      return stopped;
    },
    inspect(observer) {
      const added = toObserver(observer);
      if (!added) throw new TypeError('inspect() needs an observer, a function or a @statelyai/inspect inspector');
      // Wrapped so that the same observer added twice is two subscriptions, each removable.
      const entry = (event: InspectionEvent) => added(event);
      observers.add(entry);
      return () => void observers.delete(entry);
    },
    get status() {
      return statusOf(actor.getSnapshot().value);
    },
    actor,
  } as Gateway;
  return gateway;
}
