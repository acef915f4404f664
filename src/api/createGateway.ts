import { createActor, type ActorOptions, type AnyActorLogic, type InspectionEvent } from 'xstate';
import type { BackoffOptions, CreateSocket, DispatchPayload, GatewayProtocol, Timeouts } from '../types.ts';
import type { WsSocketOptions } from '../adapters/ws.ts';
import type { IdentifyTurnHandle } from '../types.ts';
import type { CompressionOption } from '../compression/transportCompression.ts';
import { createGatewayMachine } from '../machines/createGatewayMachine.ts';
import { openConnection } from '../connection/connection.ts';
import type { GatewayOutput, SessionSnapshot } from '../machines/gatewayMachine.ts';
import { validateOptions } from './options.ts';
import type { OutboxOptions } from '../outbox.ts';
import { gatewayEventNames, gatewayHandle, gatewaySettings, type GatewayActor, type GatewayEvents } from './gatewayHandle.ts';
import { asLifelineError, type LifelineError } from './errors.ts';
import type { HeartbeatRoundTrip } from '../core/heartbeat.ts';
import { Inspectors, type InspectOption } from './inspectors.ts';
import { Listeners } from './listeners.ts';
import type { GatewayStateChange, GatewayStatus } from './stateReporter.ts';

export { GatewayError } from './errors.ts';
export type { LifelineError } from './errors.ts';
export type { HeartbeatRoundTrip } from '../core/heartbeat.ts';
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
  /**
   * builds each socket; defaults to a `ws` client. The second argument says what the socket is for:
   * `shardId` is the protocol's `shard[0]` (discordProtocol's `identify.shard`), or null.
   */
  createSocket?: CreateSocket;
  /**
   * options for the default `ws` socket; with `createSocket`, only `maxPayload` (which bounds
   * inflated messages too), and `headers` or `agent` are a TypeError
   */
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
   * Awaited before every connection that will IDENTIFY, before its socket opens (never before a
   * RESUME): an identify queue's turn, so a gateway waiting for one holds no socket. The signal
   * aborts when the attempt ends first (a stop). It may resolve to an `IdentifyTurnHandle`, which
   * hears `sent()` when the IDENTIFY went out or `release()` when the attempt ended without one.
   */
  beforeIdentify?: (signal: AbortSignal) => Promise<void | IdentifyTurnHandle>;
  /** transport compression of the whole stream (Discord's `compress`); see README "Compression" */
  compression?: CompressionOption;
}

export interface Gateway {
  on(event: 'dispatch', listener: (payload: DispatchPayload) => void): () => void;
  on(event: 'state', listener: (state: GatewayStateChange) => void): () => void;
  /** every error is one of the library's classes, each with a `code` */
  on(event: 'error', listener: (error: LifelineError) => void): () => void;
  /** each acknowledged heartbeat: its round trip; from the socket's I/O, no statechart step */
  on(event: 'heartbeat', listener: (roundTrip: HeartbeatRoundTrip) => void): () => void;
  /** one human-readable line per lifecycle step; with no listener no line is built */
  on(event: 'debug', listener: (line: string) => void): () => void;
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
  /** the round trip of the last acknowledged heartbeat in ms, or null before the first */
  latency(): number | null;
  readonly status: GatewayStatus;
  readonly actor: GatewayActor;
}

/**
 * Creates a gateway: the statechart wired to real sockets, with an event API and promises around
 * it. Dispatches reach `on('dispatch')` straight from the socket; everything else is the actor's.
 */
export function createGateway(options: GatewayOptions): Gateway {
  validateOptions(options);
  const listeners = new Listeners<GatewayEvents>(gatewayEventNames);
  // Made on first use: most gateways never attach an inspector, and a process may hold thousands.
  let inspectors: Inspectors | undefined;
  const addInspector = (observer: InspectOption) =>
    (inspectors ??= new Inspectors((error) => listeners.emit('error', asLifelineError(error)))).add(observer);
  if (options.inspect) addInspector(options.inspect);
  const handle = gatewayHandle(options, listeners, addInspector);
  const actor = createActor(createGatewayMachine(), {
    input: { ...gatewaySettings(options), connection: openConnection({ io: handle.io }) },
    inspect: (event: InspectionEvent) => inspectors?.notify(event),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { gateway, ended } = handle.attach(actor);

  actor.start();
  const { signal } = options;
  if (signal) {
    const onAbort = () => void gateway.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    void ended.then(() => signal.removeEventListener('abort', onAbort));
    if (signal.aborted) actor.send({ type: 'stop' });
  }
  return gateway;
}
