import { createActor, type ActorOptions, type AnyActorLogic, type InspectionEvent } from 'xstate';
import type { BackoffOptions, CreateSocket, DispatchPayload, GatewayProtocol, Timeouts } from '../types.ts';
import { defaultMaxPayload, wsSocketFactory, type WsSocketOptions } from '../adapters/ws.ts';
import { defaultCompression, resolveCompression, transportCompression, type CompressionOption } from '../compression/transportCompression.ts';
import { createGatewayMachine } from '../machines/createGatewayMachine.ts';
import { connectionOf, openConnection } from '../machines/connection.ts';
import type { GatewayOutput, SessionSnapshot } from '../machines/gatewayMachine.ts';
import type { RecoveryPlan } from '../core/recovery.ts';
import { recoveryError } from './recoveryErrors.ts';
import { validateOptions } from './options.ts';
import type { OutboxOptions } from '../outbox.ts';
import { GatewayError, messageOf, observed } from './errors.ts';
import { Inspectors, type InspectOption } from './inspectors.ts';
import { Listeners } from './listeners.ts';
import { linkOutbox } from './outboxLink.ts';
import { ReadyWaiters } from './readyWaiters.ts';
import { StateReporter, statusOf, type GatewayStateChange, type GatewayStatus } from './stateReporter.ts';

export { GatewayError } from './errors.ts';
export type { InspectOption } from './inspectors.ts';
export type { GatewayStateChange, GatewayStatus } from './stateReporter.ts';
export type { SessionSnapshot } from '../machines/gatewayMachine.ts';

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
  /** a session to RESUME on the first connect (from `gateway.session()` of an earlier run); IDENTIFY if the server refuses it */
  session?: SessionSnapshot | null;
  /**
   * Awaited after HELLO and before every IDENTIFY (never before a RESUME): an identify queue's turn.
   * The signal aborts when the attempt ends first (the socket closed, a stop).
   */
  beforeIdentify?: (signal: AbortSignal) => Promise<void>;
  /** transport compression of the whole stream (Discord's `compress`); see README "Compression" */
  compression?: CompressionOption;
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
  /**
   * Resolves once stopped, within drain + terminateGrace; never rejects. `keepSession`: close with
   * 4000 instead of 1000, so the session stays resumable and `session()` still returns it.
   */
  stop(options?: { keepSession?: boolean }): Promise<GatewayOutput>;
  /** the current session as plain data, or null when there is none (before READY, after a fresh start or an ending stop) */
  session(): SessionSnapshot | null;
  /**
   * Adds an inspection observer after creation (the `inspect` option, for one attached later, such
   * as the offline inspector); returns its removal. It sees events from now on only; a throw is
   * reported on `error`.
   */
  inspect(observer: InspectOption): () => void;
  readonly status: GatewayStatus;
  readonly actor: ReturnType<typeof createActor<ReturnType<typeof createGatewayMachine>>>;
}

type GatewayEvents = { dispatch: DispatchPayload; state: GatewayStateChange; error: Error };

/** The output of a gateway whose actor itself failed. */
export function crashOutput(message: string): GatewayOutput {
  return { status: 'failed', failure: { message, trigger: { type: 'socketFailure', message } } };
}

function endError(output: GatewayOutput | undefined, stopped: string): GatewayError {
  return output?.status === 'failed' ? new GatewayError('FAILED', output.failure.message) : new GatewayError('STOPPED', stopped);
}

function compressionFor(options: GatewayOptions) {
  const stream = resolveCompression(options.compression ?? defaultCompression);
  return stream ? transportCompression(stream, options.socket?.maxPayload ?? defaultMaxPayload) : undefined;
}

/**
 * Creates a gateway: the statechart wired to real sockets, with an event API and promises around
 * it. Dispatches reach `on('dispatch')` straight from the socket; everything else is the actor's.
 */
export function createGateway(options: GatewayOptions): Gateway {
  validateOptions(options);
  const listeners = new Listeners<GatewayEvents>(['dispatch', 'state', 'error']);
  const report = (error: Error) => listeners.emit('error', error);
  const states = new StateReporter((change) => listeners.emit('state', change));
  const waiters = new ReadyWaiters();
  // Made on first use: most gateways never attach an inspector, many never send a payload, and a
  // process may hold thousands of gateways.
  let inspectors: Inspectors | undefined;
  const addInspector = (observer: InspectOption) => (inspectors ??= new Inspectors(report)).add(observer);
  if (options.inspect) addInspector(options.inspect);
  let link: ReturnType<typeof linkOutbox> | undefined;
  /** a session is ready, or was, and no fresh one has replaced it since */
  let sessionLive = false;
  const outboxLink = () => {
    if (link) return link;
    link = linkOutbox({
      limits: options.outbox,
      clock: options.clock,
      isReady: () => gateway.status === 'ready',
      write: (data, id) => actor.send({ type: 'send', data, id }),
      hadSession: () => sessionLive,
    });
    if (gateway.status === 'ready') link.onReady();
    return link;
  };

  const actor = createActor(createGatewayMachine(), {
    input: {
      connection: openConnection({
        io: {
          createSocket: options.createSocket ?? wsSocketFactory(options.socket),
          protocol: options.protocol,
          onDispatch: (payload) => listeners.emit('dispatch', payload),
          onError: report,
          onSent: (id, error, retry) => link?.confirm(id, error, retry),
          ...(options.beforeIdentify ? { beforeIdentify: options.beforeIdentify } : {}),
          compression: compressionFor(options),
        },
      }),
      session: options.session ?? null,
      url: options.url,
      timeouts: options.timeouts,
      backoff: options.backoff,
      allowedResumeHosts: [...(options.protocol.allowedResumeHosts ?? []), ...(options.allowedResumeHosts ?? [])],
    },
    inspect: (event: InspectionEvent) => inspectors?.notify(event),
    ...(options.clock ? { clock: options.clock } : {}),
  });

  actor.on('recovery', ({ plan }: { plan: RecoveryPlan }) => {
    states.plan(plan);
    // The link reads the session as it was before this plan: a fresh one ends it after.
    link?.onPlan(plan);
    if (plan.action === 'fresh') sessionLive = false;
    const error = recoveryError(plan);
    if (error) report(error);
  });
  actor.on('phase', (phase) => states.reconnectPhase(phase));
  actor.on('warning', ({ message, code }) => report(new GatewayError(code ?? 'RESUME_URL_REJECTED', message)));

  let resolveStopped: (output: GatewayOutput) => void = () => {};
  const stopped = new Promise<GatewayOutput>((resolve) => (resolveStopped = resolve));
  let ended: GatewayOutput | undefined;
  const end = (output: GatewayOutput | undefined) => {
    ended = output ?? { status: 'stopped' };
    link?.onEnd(output);
    resolveStopped(ended);
    waiters.rejectAll(endError(output, 'the gateway was stopped before it was ready'));
    options.signal?.removeEventListener('abort', onAbort);
  };
  actor.subscribe({
    next: (snapshot) => {
      states.gateway(snapshot, () => {
        sessionLive = true;
        waiters.ready(snapshot.context.lastHandshake);
        link?.onReady();
      });
      if (snapshot.status === 'done') end(snapshot.output);
    },
    // The statechart handles every child's error; should the actor still fail, nothing may hang.
    error: (error) => {
      const message = `the gateway actor failed: ${messageOf(error)}`;
      report(new GatewayError('ACTOR_FAILED', message));
      end(crashOutput(message));
    },
  });

  const waitForReady = (needsIdentify: boolean) => {
    const snapshot = actor.getSnapshot();
    if (snapshot.status === 'done') return observed(Promise.reject(endError(snapshot.output, 'the gateway is stopped')));
    return observed(waiters.wait(needsIdentify));
  };

  /** A refused payload is reported on `error` too, for callers who do not await send(). */
  const refuse = (error: Error): Promise<never> => {
    report(error);
    return observed(Promise.reject(error));
  };

  const onAbort = () => void gateway.stop();

  actor.start();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) actor.send({ type: 'stop' });

  const gateway: Gateway = {
    on: ((event: keyof GatewayEvents, listener: (value: GatewayEvents[keyof GatewayEvents]) => void) =>
      listeners.on(event, listener)) as Gateway['on'],
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
        return refuse(new GatewayError('ENCODE_FAILED', `payload could not be encoded: ${messageOf(error)}`));
      }
      // After the end, the outbox is made closed, so the payload is refused with the reason.
      const current = outboxLink();
      if (ended) current.onEnd(ended);
      return observed(current.outbox.enqueue(data).catch(refuse));
    },
    stop(request = {}) {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'stop', keepSession: request.keepSession === true });
      return stopped;
    },
    session() {
      const { session, connection } = actor.getSnapshot().context;
      return session ? { sessionId: session.sessionId, sequence: connectionOf(connection).ledger.seq, resumeUrl: session.resumeUrl } : null;
    },
    inspect: addInspector,
    get status() {
      return statusOf(actor.getSnapshot().value);
    },
    actor,
  };
  return gateway;
}
