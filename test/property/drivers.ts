import { createActor } from 'xstate';
import { createGateway, discordProtocol } from '../../src/index.ts';
import { createGatewayMachine } from '../../src/machines/createGatewayMachine.ts';
import type { OutboxOptions } from '../../src/outbox.ts';
import type { BackoffOptions, CreateSocket, DispatchPayload, Timeouts } from '../../src/types.ts';
import type { ManualClock } from '../support/manualClock.ts';

export type GatewayMachine = ReturnType<typeof createGatewayMachine>;
export type GatewayActor = ReturnType<typeof createActor<GatewayMachine>>;

/** What the engine needs from a schedule's world. */
export interface EngineHooks {
  createSocket: CreateSocket;
  onDispatch: (payload: DispatchPayload) => void;
  onError: (error: Error) => void;
  /** the socket actor's report on a `send` command (machine driver only; the API keeps its own) */
  onSent: (id: number, error?: Error) => void;
}

export interface DriverConfig extends EngineHooks {
  url: string;
  timeouts: Timeouts;
  backoff: BackoffOptions;
  clock: ManualClock;
  outbox: Partial<OutboxOptions>;
  /** the statechart driver runs this one instead of the real one */
  machine?: GatewayMachine;
}

/**
 * How a schedule's user calls reach the engine. `gateway` goes through createGateway(), the public
 * API with its promises and error reports; `machine` sends events to the statechart built by
 * createGatewayMachine(), which skips the API's per-instance machine build and inspection and so
 * runs several times faster. Both run the same statechart and actors over the same fake sockets.
 */
export interface Driver {
  readonly actor: GatewayActor;
  /** a promise only where the API gives one */
  start(): Promise<unknown> | undefined;
  reconnect(fresh: boolean): Promise<unknown> | undefined;
  stop(): Promise<unknown> | undefined;
  /** the API's send() promise; the statechart takes the payload as an event tagged `id` */
  send(payload: unknown, id: number): Promise<void> | undefined;
}

const protocol = discordProtocol({ token: 'property-token', intents: 513 });

export function gatewayDriver(config: DriverConfig): Driver {
  const { createSocket, clock, url, timeouts, backoff, outbox } = config;
  const gateway = createGateway({ url, protocol, timeouts, backoff, outbox, createSocket, clock });
  gateway.on('dispatch', config.onDispatch);
  gateway.on('error', config.onError);
  return {
    actor: gateway.actor,
    start: () => gateway.start(),
    reconnect: (fresh) => gateway.reconnect({ fresh }),
    stop: () => gateway.stop(),
    send: (payload) => gateway.send(payload),
  };
}

// Built once: its socket actor reaches the running schedule's world through `hooks`.
let hooks: EngineHooks | undefined;
let sharedMachine: GatewayMachine | undefined;

/** The real statechart, wired to whichever schedule is running; `adapt` may break it on purpose. */
export function propertyMachine(adapt: (machine: GatewayMachine) => GatewayMachine = (m) => m): GatewayMachine {
  return adapt(
    createGatewayMachine({
      createSocket: (url) => hooks!.createSocket(url),
      protocol,
      onDispatch: (payload) => hooks!.onDispatch(payload),
      onError: (error) => hooks!.onError(error),
      onSent: (id, error) => hooks!.onSent(id, error),
    }),
  );
}

export function machineDriver(config: DriverConfig): Driver {
  hooks = config;
  sharedMachine ??= propertyMachine();
  const actor = createActor(config.machine ?? sharedMachine, {
    input: { url: config.url, timeouts: config.timeouts, backoff: config.backoff, allowedResumeHosts: protocol.allowedResumeHosts },
    clock: config.clock,
  });
  actor.start();
  // Like the API, nothing is sent to an actor that has ended (XState warns about it in development).
  const send = (event: Parameters<GatewayActor['send']>[0]): undefined => {
    if (actor.getSnapshot().status === 'active') actor.send(event);
  };
  return {
    actor,
    start: () => send({ type: 'start' }),
    reconnect: (fresh) => send({ type: 'reconnect', fresh }),
    stop: () => send({ type: 'stop' }),
    // Sent whatever the state: a statechart that is not ready must ignore it.
    send: (payload, id) => send({ type: 'send', data: protocol.encode(payload), id }),
  };
}
