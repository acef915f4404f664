import type { createActor } from 'xstate';
import type { SocketDependencies } from '../actors/socket.ts';
import { wsSocketFactory } from '../adapters/ws.ts';
import { defaultCompression, defaultMaxPayload } from '../core/defaults.ts';
import { resolveCompression, transportCompression } from '../compression/transportCompression.ts';
import type { RecoveryPlan } from '../core/recovery.ts';
import type { createGatewayMachine } from '../machines/createGatewayMachine.ts';
import { connectionOf } from '../connection/connection.ts';
import type { GatewayInput, GatewayOutput } from '../machines/gatewayMachine.ts';
import type { DispatchPayload, SocketContext } from '../types.ts';
import type { Gateway, GatewayOptions } from './createGateway.ts';
import { GatewayError, asLifelineError, messageOf, observed, type LifelineError } from './errors.ts';
import type { HeartbeatRoundTrip } from '../core/heartbeat.ts';
import { debugLineOfPhase, debugLineOfPlan, debugLineOfState } from './debugLines.ts';
import type { InspectOption } from './inspectors.ts';
import type { Listeners } from './listeners.ts';
import { linkOutbox } from './outboxLink.ts';
import { ReadyWaiters } from './readyWaiters.ts';
import { recoveryError } from './recoveryErrors.ts';
import { StateReporter, statusOf, type GatewayStateChange } from './stateReporter.ts';

export type GatewayEvents = {
  dispatch: DispatchPayload;
  state: GatewayStateChange;
  error: LifelineError;
  heartbeat: HeartbeatRoundTrip;
  debug: string;
};

/** The events of a gateway's listener set, in the order `on()` names them when given another. */
export const gatewayEventNames = ['dispatch', 'state', 'error', 'heartbeat', 'debug'] as const;

/** A running gateway statechart: its own root actor (createGateway) or a supervisor's child. */
export type GatewayActor = ReturnType<typeof createActor<ReturnType<typeof createGatewayMachine>>>;

/** What the statechart is given besides its connection: plain data, the same for every run. */
export function gatewaySettings(options: GatewayOptions): Omit<GatewayInput, 'connection'> {
  return {
    session: options.session ?? null,
    url: options.url,
    timeouts: options.timeouts,
    backoff: options.backoff,
    allowedResumeHosts: [...(options.protocol.allowedResumeHosts ?? []), ...(options.allowedResumeHosts ?? [])],
  };
}

/** The output of a gateway whose actor itself failed. */
function crashOutput(message: string): GatewayOutput {
  return { status: 'failed', failure: { message, trigger: { type: 'socketFailure', message } } };
}

function endError(output: GatewayOutput | undefined, stopped: string): GatewayError {
  return output?.status === 'failed' ? new GatewayError('FAILED', output.failure.message) : new GatewayError('STOPPED', stopped);
}

/** The gateway's socket factory with its context bound: the default `ws` client, or the caller's. */
function socketFactoryOf(options: GatewayOptions): SocketDependencies['createSocket'] {
  const create = options.createSocket ?? wsSocketFactory(options.socket);
  const context: SocketContext = Object.freeze({ shardId: options.protocol.shard?.[0] ?? null });
  return (url) => create(url, context);
}

function compressionFor(options: GatewayOptions) {
  const stream = resolveCompression(options.compression ?? defaultCompression);
  return stream ? transportCompression(stream, options.socket?.maxPayload ?? defaultMaxPayload) : undefined;
}

export interface GatewayHandle {
  /** the I/O for the gateway's connection: dispatches and errors go straight to the listeners */
  readonly io: SocketDependencies;
  /**
   * Follows the gateway actor (before it starts, so that no event is missed) and returns its
   * public face, with a promise of its output.
   */
  attach(actor: GatewayActor): { gateway: Gateway; ended: Promise<GatewayOutput> };
}

/**
 * One gateway's public face over its statechart: the events (`dispatch`, `error` and `state`, the
 * last from the machine's snapshots and typed emits), the promises, the outbox and the session.
 * Made in two steps because the actor's input needs the I/O before the actor exists. Both
 * `createGateway` (a root actor of its own) and `superviseGateway` (a child of the supervisor, one
 * per run) use it, so a gateway looks the same either way.
 */
export function gatewayHandle(
  options: GatewayOptions,
  listeners: Listeners<GatewayEvents>,
  addInspector: (observer: InspectOption) => () => void,
  /** whether anyone listens to `debug` (a supervisor's run forwards to listeners of its own) */
  debugWanted: () => boolean = () => listeners.has('debug'),
): GatewayHandle {
  const report = (error: Error) => listeners.emit('error', asLifelineError(error));
  // The line is built only for a listener: with none, a lifecycle step costs one check.
  const debug = (line: () => string | undefined) => {
    if (!debugWanted()) return;
    const text = line();
    if (text !== undefined) listeners.emit('debug', text);
  };
  /** events the last RESUME replayed, until the state change that reports them */
  let replayed: number | undefined;
  let latency: number | null = null;
  const states = new StateReporter((change) => {
    if (change.state === 'ready' && change.handshake === 'resume' && replayed !== undefined) change.replayed = replayed;
    if (change.state === 'ready') replayed = undefined;
    listeners.emit('state', change);
    debug(() => debugLineOfState(change));
  });
  const waiters = new ReadyWaiters();
  let link: ReturnType<typeof linkOutbox> | undefined;
  /** a session is ready, or was, and no fresh one has replaced it since */
  let sessionLive = false;

  const io: SocketDependencies = {
    createSocket: socketFactoryOf(options),
    protocol: options.protocol,
    onDispatch: (payload) => listeners.emit('dispatch', payload),
    onResumed: (count) => (replayed = count),
    onHeartbeat: (roundTrip) => {
      latency = roundTrip.latencyMs;
      listeners.emit('heartbeat', roundTrip);
    },
    onError: report,
    onSent: (id, error, retry) => link?.confirm(id, error, retry),
    ...(options.beforeIdentify ? { beforeIdentify: options.beforeIdentify } : {}),
    compression: compressionFor(options),
  };

  function attach(actor: GatewayActor) {
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

    actor.on('recovery', ({ plan }: { plan: RecoveryPlan }) => {
      debug(() => debugLineOfPlan(plan));
      states.plan(plan);
      // The link reads the session as it was before this plan: a fresh one ends it after.
      link?.onPlan(plan);
      if (plan.action === 'fresh') sessionLive = false;
      const error = recoveryError(plan);
      if (error) report(error);
    });
    actor.on('phase', (phase) => {
      debug(() => debugLineOfPhase(phase.kind, phase.phase));
      states.reconnectPhase(phase);
    });
    actor.on('warning', ({ message, code }) => report(new GatewayError(code ?? 'RESUME_URL_REJECTED', message)));

    let resolveEnded: (output: GatewayOutput) => void = () => {};
    const ended = new Promise<GatewayOutput>((resolve) => (resolveEnded = resolve));
    let output: GatewayOutput | undefined;
    const end = (final: GatewayOutput | undefined) => {
      output = final ?? { status: 'stopped' };
      link?.onEnd(final);
      resolveEnded(output);
      waiters.rejectAll(endError(final, 'the gateway was stopped before it was ready'));
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
        if (output) current.onEnd(output);
        return observed(current.outbox.enqueue(data).catch(refuse));
      },
      stop(request = {}) {
        if (actor.getSnapshot().status === 'active') actor.send({ type: 'stop', keepSession: request.keepSession === true });
        return ended;
      },
      session() {
        const { session, connection } = actor.getSnapshot().context;
        return session
          ? { sessionId: session.sessionId, sequence: connectionOf(connection).ledger.seq, resumeUrl: session.resumeUrl }
          : null;
      },
      inspect: addInspector,
      latency: () => latency,
      get status() {
        return statusOf(actor.getSnapshot().value);
      },
      actor,
    };
    return { gateway, ended };
  }

  return { io, attach };
}
