import { assign, enqueueActions, setup, type AnyActorRef } from 'xstate';
import type { BackoffOptions, Timeouts } from '../types.ts';
import { defaultBackoff, defaultTimeouts } from '../core/defaults.ts';
import { drainMachine } from './drainMachine.ts';
import { freshReconnectMachine } from './freshReconnectMachine.ts';
import { errorMessage, type ReconnectInput, type ReconnectOutput } from './reconnectCourse.ts';
import { resumeReconnectMachine } from './resumeReconnectMachine.ts';
import { socketNotProvided } from '../actors/socket.ts';
import { connectionOf, openConnection, type ConnectionRef } from '../connection/connection.ts';
import type { SocketEvent, SocketRequest, UserEvent } from './events.ts';
import {
  decideRecovery,
  isConnectionFailure,
  resumeUrlFailuresBeforeMain,
  retryDelayMs,
  type RecoveryPlan,
  type RecoveryTrigger,
} from '../core/recovery.ts';
import { checkResumeUrl } from '../core/resumeUrl.ts';
import { flatten } from '../core/stateValue.ts';
import { SequenceLedger } from '../core/sequenceLedger.ts';

export interface GatewayInput {
  url: string;
  timeouts?: Partial<Timeouts>;
  backoff?: Partial<BackoffOptions>;
  /** hosts a READY's resume URL may point to besides the main URL's; `*.example.com` allowed */
  allowedResumeHosts?: readonly string[];
  /**
   * the connection whose line, ledger and I/O the socket actors use (see `openConnection`); given
   * here, one machine definition serves every gateway. Without it, a connection without I/O.
   */
  connection?: ConnectionRef;
  /** a session to resume on the first connect (e.g. restored after a restart) */
  session?: SessionSnapshot | null;
}

/** A session as plain data: what it takes to RESUME it, on this process or the next. */
export interface SessionSnapshot {
  sessionId: string;
  /** the last sequence received, or null before the first */
  sequence: number | null;
  /** where to resume, or null for the main URL */
  resumeUrl: string | null;
}

export interface Session {
  sessionId: string;
  /** the checked resume URL, or null to resume on the main URL */
  resumeUrl: string | null;
}

export interface GatewayFailure {
  message: string;
  trigger: RecoveryTrigger;
}

export interface GatewayContext {
  url: string;
  /** names the socket line, sequence ledger and I/O, which live outside the context (see connection.ts) */
  connection: ConnectionRef;
  timeouts: Timeouts;
  backoff: BackoffOptions;
  allowedResumeHosts: readonly string[];
  /** generation of the newest socket; every socket event must carry it */
  generation: number;
  /** the generation whose socket actor (`socket`) is running, until its socket is CLOSED */
  socketActor: number | null;
  /** the last socket that reached CLOSED while its actor ran, and how it closed */
  closed: { generation: number; code: number; reason: string } | null;
  session: Session | null;
  heartbeatInterval: number;
  /** reconnects since the session was last stable */
  attempt: number;
  helloStalls: number;
  readyFailures: number;
  /** failed connections in a row of resumes aimed at the resume URL (see the recovery table) */
  resumeUrlFailures: number;
  plan: RecoveryPlan | null;
  lastHandshake: 'identify' | 'resume' | null;
  failure: GatewayFailure | null;
  /** a stop that keeps the session closes with 4000 and leaves the session readable */
  keepSession: boolean;
}

export type GatewayOutput = { status: 'stopped' } | { status: 'failed'; failure: GatewayFailure };

export type GatewayEmitted =
  | { type: 'recovery'; plan: RecoveryPlan }
  /** the running reconnect entered a phase, e.g. `draining` or `handshake.awaitingHello` */
  | { type: 'phase'; kind: 'fresh' | 'resume'; phase: string; generation: number }
  | { type: 'warning'; message: string; code?: 'RESUME_URL_REJECTED' };

export type GatewayEvent =
  | UserEvent
  | SocketEvent
  | SocketRequest
  /** the socket actor (spawned, so not named by an invoke) crashed */
  | { type: 'xstate.error.actor.socket'; error: unknown };

/**
 * The output of a reconnect actor's done event, or undefined for any other event. Guards and
 * actions read it through here, so they hold for events they were not written for (xstate/graph
 * and hand-made events among them) instead of crashing on a missing field.
 */
function reconnectOutput(event: { type: string }): ReconnectOutput | undefined {
  const output = (event as { output?: unknown }).output;
  return typeof output === 'object' && output !== null && typeof (output as { ok?: unknown }).ok === 'boolean'
    ? (output as ReconnectOutput)
    : undefined;
}

/** The session handed in at creation, checked: a resume URL that fails the rule falls back to the main URL. */
function restoredSession(input: GatewayInput): Pick<GatewayContext, 'session' | 'connection'> {
  const connection = input.connection ?? openConnection();
  const restored = input.session;
  if (!restored) return { session: null, connection };
  // Its RESUME replays from the restored sequence, and the ledger drops what came before it.
  connectionOf(connection).ledger = new SequenceLedger(restored.sequence);
  let resumeUrl: string | null = null;
  if (restored.resumeUrl !== null) {
    const verdict = checkResumeUrl(restored.resumeUrl, input.url, input.allowedResumeHosts ?? []);
    if (verdict.ok) resumeUrl = verdict.url;
  }
  return { session: { sessionId: restored.sessionId, resumeUrl }, connection };
}

function reconnectInput(context: GatewayContext, url: string): ReconnectInput {
  const plan = context.plan;
  const reconnecting = plan && 'delay' in plan ? plan : null;
  return {
    connection: context.connection,
    generation: context.generation,
    url,
    delay: reconnecting?.delay ?? 'none',
    delayMs: reconnecting?.delayMs,
    drain: reconnecting?.drain ?? 'close',
    attempt: context.attempt,
    timeouts: context.timeouts,
    backoff: context.backoff,
  };
}

/** The context after deciding how to recover from `trigger`, with the counters the table reads. */
function planned(context: GatewayContext, trigger: RecoveryTrigger): Partial<GatewayContext> {
  const { session } = context;
  const hasResumeUrl = session !== null && session.resumeUrl !== null && session.resumeUrl !== context.url;
  // Whether the attempt that just ended was a resume aimed at the resume URL (or at the main URL
  // after falling back from it): only those count towards giving the resume URL up.
  const resumeUrlAttempt = context.plan?.action === 'resume' && (hasResumeUrl || context.resumeUrlFailures > 0);
  const priorFailures = resumeUrlAttempt ? context.resumeUrlFailures : 0;
  let plan = decideRecovery(trigger, {
    hasSession: session !== null,
    helloStalls: context.helloStalls,
    readyFailures: context.readyFailures,
    hasResumeUrl,
    resumeUrlFailures: priorFailures,
  });
  const failure = plan.action === 'fatal' || plan.action === 'failClosed' ? { message: plan.message, trigger } : context.failure;
  let resumeUrlFailures = resumeUrlAttempt && isConnectionFailure(trigger) ? priorFailures + 1 : 0;
  let nextSession = session;
  if (plan.action === 'resume' && plan.url === 'main') {
    // The resume URL stopped working: this session resumes on the main URL from now on.
    resumeUrlFailures = Math.max(resumeUrlFailures, resumeUrlFailuresBeforeMain);
    if (session) nextSession = { ...session, resumeUrl: null };
  }
  if (plan.action === 'fresh') resumeUrlFailures = 0;
  if (plan.action === 'fresh' || plan.action === 'resume') {
    // The wait is drawn here, not in the reconnect, so that the error event can say how long it is.
    const attempt = context.attempt + 1;
    plan = { ...plan, attempt, delayMs: retryDelayMs(plan.delay, attempt, context.backoff) };
  }
  return {
    plan,
    session: nextSession,
    helloStalls: trigger.type === 'helloTimeout' ? context.helloStalls + 1 : context.helloStalls,
    readyFailures: trigger.type === 'readyTimeout' ? context.readyFailures + 1 : context.readyFailures,
    resumeUrlFailures,
    failure,
  };
}

/**
 * The connection statechart. It owns one session: `connecting` runs a fresh or a resume reconnect
 * actor until a socket is ready, `ready` keeps that socket (which keeps its heartbeat), and every fault goes
 * through `routing`, where the recovery table picks what follows. The gateway owns the sockets:
 * when a reconnect asks for one it spawns a socket actor (`socket`), which owns that socket from
 * its creation through the handshake and the ready session until it is CLOSED, and the gateway
 * relays its events to the reconnect while one runs. Drain and reconnects are child
 * actors named here; createGatewayMachine() provides the real socket.
 */
export const gatewayMachine = setup({
  types: {
    input: {} as GatewayInput,
    context: {} as GatewayContext,
    events: {} as GatewayEvent,
    output: {} as GatewayOutput,
    emitted: {} as GatewayEmitted,
  },
  actors: {
    freshReconnect: freshReconnectMachine,
    resumeReconnect: resumeReconnectMachine,
    drain: drainMachine,
    socket: socketNotProvided,
  },
  delays: {
    stablePeriod: ({ context }) => context.timeouts.stable,
  },
  guards: {
    fromCurrentSocket: ({ context, event }) => 'generation' in event && event.generation === context.generation,
    // A handshake that succeeded on a socket that has closed since (its close handled before the
    // reconnect's end) is no ready session: it goes back to the table as that close.
    reconnectSucceeded: ({ context, event }) => reconnectOutput(event)?.ok === true && context.closed?.generation !== context.generation,
    wantsFresh: ({ event }) => event.type === 'reconnect' && event.fresh,
    planFailsClosed: ({ context }) => context.plan?.action === 'failClosed',
    planIsFatal: ({ context }) => context.plan?.action === 'fatal',
    planIsFresh: ({ context }) => context.plan?.action === 'fresh',
    hasFailure: ({ context }) => context.failure !== null,
  },
  actions: {
    planRecovery: assign(({ context }, trigger: RecoveryTrigger) => planned(context, trigger)),
    noteStop: assign({ keepSession: ({ event }) => event.type === 'stop' && event.keepSession === true }),
    // A session closed with 1000 or ended by a fatal error is over; only a kept one stays readable.
    endSession: assign(({ context }) => (context.keepSession && context.failure === null ? {} : { session: null })),
    // A reconnect that ended without a session, or crashed, is one more trigger for the table.
    planAfterReconnect: assign(({ context, event }) => {
      const output = reconnectOutput(event);
      const { closed } = context;
      const trigger: RecoveryTrigger =
        output && !output.ok
          ? output.trigger
          : output && closed?.generation === context.generation
            ? { type: 'close', code: closed.code, reason: closed.reason }
            : { type: 'socketFailure', message: 'a reconnect ended without an outcome' };
      return planned(context, trigger);
    }),
    planAfterCrash: assign(({ context, event }) => {
      const actor = event.type.replace('xstate.error.actor.', '');
      const error = (event as { error?: unknown }).error;
      return planned(context, { type: 'socketFailure', message: `${actor} crashed: ${errorMessage(error)}` });
    }),
    // A payload that reaches the statechart outside `ready` was not written: it goes back to the queue.
    returnPayload: ({ context, event }) => {
      if (event.type === 'send') connectionOf(context.connection).io?.onSent?.(event.id, new Error('the gateway is not ready'), true);
    },
    // A reconnect's snapshot, relayed by `onSnapshot`: its phase goes out as a typed event.
    announcePhase: enqueueActions(({ context, event, enqueue }, kind: 'fresh' | 'resume') => {
      const snapshot = (event as { snapshot?: { value?: unknown } }).snapshot;
      if (snapshot) enqueue.emit({ type: 'phase', kind, phase: flatten(snapshot.value), generation: context.generation });
    }),
    announceRecovery: enqueueActions(({ context, enqueue }) => {
      if (context.plan) enqueue.emit({ type: 'recovery', plan: context.plan });
    }),
    // A fresh session must not inherit anything from the old one: cleared before anything connects.
    forgetSession: assign({ session: null }),
    // The old session's ledger stays with its sockets; the new session counts from nothing.
    resetLedger: ({ context }) => {
      connectionOf(context.connection).ledger = new SequenceLedger();
    },
    nextAttempt: assign({
      generation: ({ context }) => context.generation + 1,
      attempt: ({ context }) => context.attempt + 1,
    }),
    adoptSession: enqueueActions(({ context, event, enqueue }) => {
      const output = reconnectOutput(event);
      if (!output?.ok) return;
      let session = context.session;
      if (output.session) {
        const { sessionId, resumeUrl } = output.session;
        let checked: string | null = null;
        if (resumeUrl !== null) {
          const verdict = checkResumeUrl(resumeUrl, context.url, context.allowedResumeHosts);
          if (verdict.ok) checked = verdict.url;
          else
            enqueue.emit({ type: 'warning', code: 'RESUME_URL_REJECTED', message: `${verdict.reason}; resuming on the main URL instead` });
        }
        session = { sessionId, resumeUrl: checked };
      }
      enqueue.assign({
        session,
        heartbeatInterval: output.heartbeatInterval,
        lastHandshake: output.handshake,
        helloStalls: 0,
        readyFailures: 0,
        resumeUrlFailures: 0,
      });
    }),
    markStable: assign({ attempt: 0 }),
    sealLine: ({ context }) => connectionOf(context.connection).line.seal(),
    // A reconnect asked for its socket. The previous one is CLOSED by now (the reconnect drained
    // it, and the line refuses a second live socket); its actor goes before the next one comes.
    openSocket: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'reconnect.openSocket') return;
      enqueue.stopChild('socket');
      enqueue.spawnChild('socket', {
        id: 'socket',
        input: { connection: context.connection, generation: event.generation, url: event.url },
      });
      enqueue.assign({ socketActor: event.generation });
    }),
    // The handshake succeeded on this socket: from now on it carries the ready session.
    tellSocketReady: enqueueActions(({ context, enqueue }) => {
      if (context.socketActor !== null) enqueue.sendTo('socket', { type: 'sessionReady' });
    }),
    // Every fault and every stop goes through here: the socket no longer carries the session, so
    // nothing it still delivers (a dispatch, a heartbeat request) counts, until its drain closes it.
    retireSocket: enqueueActions(({ context, enqueue }) => {
      if (context.socketActor !== null) enqueue.sendTo('socket', { type: 'retire' });
    }),
    // The socket reached CLOSED (or the gateway ended): its actor's life is over.
    releaseSocket: enqueueActions(({ context, event, enqueue }) => {
      if (context.socketActor === null) return;
      if (event.type === 'socket.closed') {
        // A second, independent guard beside the actor's own stop: only its own socket's close counts.
        if (event.generation !== context.socketActor) return;
        enqueue.assign({ closed: { generation: event.generation, code: event.code, reason: event.reason } });
      }
      enqueue.stopChild('socket');
      enqueue.assign({ socketActor: null });
    }),
    // While a reconnect runs, it drives the handshake: the socket's events are its to read.
    // A reconnect that has just ended (its done event still on the way) is not sent anything more.
    relayToReconnect: enqueueActions(({ event, enqueue, self }) => {
      const children = (self.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> } | undefined)?.children;
      const reconnect = children?.freshReconnect ?? children?.resumeReconnect;
      const status = (reconnect?.getSnapshot() as { status?: string } | undefined)?.status;
      if (reconnect && status === 'active') enqueue.sendTo(reconnect, event);
    }),
    commandSocket: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'reconnect.toSocket' && context.socketActor !== null) enqueue.sendTo('socket', event.command);
    }),
    // A payload for a socket that is already gone goes back to the queue, as outside `ready`.
    sendPayload: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'send') return;
      if (context.socketActor !== null) enqueue.sendTo('socket', { type: 'send', data: event.data, id: event.id });
      else connectionOf(context.connection).io?.onSent?.(event.id, new Error('the socket is gone'), true);
    }),
  },
}).createMachine({
  id: 'gateway',
  context: ({ input }) => ({
    ...restoredSession(input),
    url: input.url,
    timeouts: { ...defaultTimeouts, ...input.timeouts },
    backoff: { ...defaultBackoff, ...input.backoff },
    allowedResumeHosts: input.allowedResumeHosts ?? [],
    generation: 0,
    socketActor: null,
    closed: null,
    heartbeatInterval: 0,
    attempt: 0,
    helloStalls: 0,
    readyFailures: 0,
    resumeUrlFailures: 0,
    plan: null,
    lastHandshake: null,
    failure: null,
    keepSession: false,
  }),
  initial: 'idle',
  on: {
    stop: { target: '.closing', actions: 'noteStop' },
    send: { actions: 'returnPayload' },
    'socket.closed': { actions: 'releaseSocket' },
  },
  states: {
    idle: {
      on: {
        start: { target: 'routing', actions: { type: 'planRecovery', params: { type: 'start' } } },
        stop: { target: 'stopped', actions: 'noteStop' },
      },
    },
    routing: {
      entry: ['retireSocket', 'announceRecovery'],
      always: [
        { guard: 'planFailsClosed', target: 'failed' },
        { guard: 'planIsFatal', target: 'closing' },
        { guard: 'planIsFresh', target: 'connecting.fresh' },
        { target: 'connecting.resume' },
      ],
    },
    connecting: {
      initial: 'fresh',
      on: {
        'reconnect.openSocket': { guard: 'fromCurrentSocket', actions: 'openSocket' },
        'reconnect.toSocket': { guard: 'fromCurrentSocket', actions: 'commandSocket' },
        'xstate.error.actor.socket': { target: 'routing', actions: ['releaseSocket', 'planAfterCrash'] },
        'socket.closed': { actions: ['releaseSocket', 'relayToReconnect'] },
        'socket.*': { actions: 'relayToReconnect' },
        'gateway.*': { actions: 'relayToReconnect' },
      },
      states: {
        fresh: {
          entry: ['forgetSession', 'resetLedger', 'nextAttempt'],
          invoke: {
            id: 'freshReconnect',
            src: 'freshReconnect',
            input: ({ context }) => reconnectInput(context, context.url),
            onSnapshot: { actions: { type: 'announcePhase', params: 'fresh' } },
            onDone: [
              { guard: 'reconnectSucceeded', target: '#gateway.ready', actions: 'adoptSession' },
              // A session the handshake made is kept even when its socket closed right after.
              { target: '#gateway.routing', actions: ['adoptSession', 'planAfterReconnect'] },
            ],
            onError: { target: '#gateway.routing', actions: 'planAfterCrash' },
          },
          on: {
            // A reconnect request of either kind is already being served by this fresh reconnect.
            reconnect: {},
          },
        },
        resume: {
          entry: 'nextAttempt',
          invoke: {
            id: 'resumeReconnect',
            src: 'resumeReconnect',
            input: ({ context }) => ({
              ...reconnectInput(context, context.session?.resumeUrl ?? context.url),
              sessionId: context.session?.sessionId ?? '',
            }),
            onSnapshot: { actions: { type: 'announcePhase', params: 'resume' } },
            onDone: [
              { guard: 'reconnectSucceeded', target: '#gateway.ready', actions: 'adoptSession' },
              // A session the handshake made is kept even when its socket closed right after.
              { target: '#gateway.routing', actions: ['adoptSession', 'planAfterReconnect'] },
            ],
            onError: { target: '#gateway.routing', actions: 'planAfterCrash' },
          },
          on: {
            // A fresh request upgrades the resume in flight; a resume request joins it.
            reconnect: [
              {
                guard: 'wantsFresh',
                target: '#gateway.routing',
                actions: { type: 'planRecovery', params: { type: 'userReconnect', fresh: true } },
              },
              {},
            ],
          },
        },
      },
    },
    ready: {
      entry: 'tellSocketReady',
      after: { stablePeriod: { actions: 'markStable' } },
      on: {
        'socket.closed': {
          guard: 'fromCurrentSocket',
          target: 'routing',
          actions: [
            'releaseSocket',
            {
              type: 'planRecovery',
              params: ({ event }) => ({ type: 'close', code: event.code, reason: event.reason }),
            },
          ],
        },
        'gateway.reconnect': {
          guard: 'fromCurrentSocket',
          target: 'routing',
          actions: { type: 'planRecovery', params: { type: 'reconnectRequested' } },
        },
        'gateway.invalidSession': {
          guard: 'fromCurrentSocket',
          target: 'routing',
          actions: {
            type: 'planRecovery',
            params: ({ event }) => ({ type: 'invalidSession', resumable: event.resumable }),
          },
        },
        'gateway.malformed': {
          guard: 'fromCurrentSocket',
          target: 'routing',
          actions: { type: 'planRecovery', params: ({ event }) => ({ type: 'protocolError', reason: event.reason }) },
        },
        // The socket's heartbeat (running since HELLO) heard nothing for a whole interval.
        'socket.zombie': {
          guard: 'fromCurrentSocket',
          target: 'routing',
          actions: { type: 'planRecovery', params: { type: 'zombie' } },
        },
        reconnect: {
          target: 'routing',
          actions: { type: 'planRecovery', params: ({ event }) => ({ type: 'userReconnect', fresh: event.fresh }) },
        },
        send: { actions: 'sendPayload' },
      },
    },
    closing: {
      entry: ['retireSocket', 'sealLine'],
      invoke: {
        id: 'drain',
        src: 'drain',
        input: ({ context }) => ({
          connection: context.connection,
          code: context.keepSession && context.failure === null ? 4000 : 1000,
          terminateAtOnce: false,
          drainTimeout: context.timeouts.drain,
          terminateGrace: context.timeouts.terminateGrace,
        }),
        // Even a drain that failed ends here: no socket is opened after shutdown began.
        onDone: [{ guard: 'hasFailure', target: 'failed' }, { target: 'stopped' }],
        onError: [{ guard: 'hasFailure', target: 'failed' }, { target: 'stopped' }],
      },
      on: { stop: {} },
    },
    // A socket that would not close (a failed drain) stays on the sealed line with its error sink;
    // its actor, which only reported on it, ends with the gateway.
    stopped: { type: 'final', entry: ['releaseSocket', 'endSession'] },
    failed: { type: 'final', entry: ['sealLine', 'releaseSocket', 'endSession'] },
  },
  output: ({ context }): GatewayOutput => (context.failure ? { status: 'failed', failure: context.failure } : { status: 'stopped' }),
});
