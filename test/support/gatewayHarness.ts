import { GatewayIntentBits } from 'discord-api-types/v10';
import { expect, onTestFinished } from 'vitest';
import type { InspectionEvent } from 'xstate';
import type { SocketDependencies } from '../../src/actors/socket.ts';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import { createGatewayMachine } from '../../src/machines/createGatewayMachine.ts';
import type { GatewayInput } from '../../src/machines/gatewayMachine.ts';
import type { RecoveryPlan } from '../../src/core/recovery.ts';
import type { DispatchPayload } from '../../src/types.ts';
import { inspectedId, recordStates, startActor, stateName } from './actors.ts';
import { isHandshakeAnswer, serverFrames } from './discordFrames.ts';
import { FakeSocketFactory, type FakeSocket } from './fakeSocket.ts';
import { ManualClock } from './manualClock.ts';

export const MAIN_URL = 'wss://gateway.discord.gg/?v=10&encoding=json';
export const RESUME_URL = 'wss://us-east1-b.gateway.discord.gg';
/** RESUME_URL once checked: the main URL's query carried over */
export const CHECKED_RESUME_URL = 'wss://us-east1-b.gateway.discord.gg/?v=10&encoding=json';
export const TOKEN = 'unit-test-token-0123456789';
export const HEARTBEAT_INTERVAL = 41_250;

type ReconnectKind = 'fresh' | 'resume';
const reconnectKinds: Record<string, ReconnectKind> = { freshReconnect: 'fresh', resumeReconnect: 'resume' };

/**
 * The gateway statechart with real socket actors over fake sockets, under a manual clock. It
 * records what a test wants to assert on: gateway states, the reconnect actors started and the
 * phases they walked, recovery plans, warnings, dispatches and errors. The actor is stopped when
 * the test ends, and every test checks that no two sockets were ever live at once.
 */
export function startGatewayHarness(
  input: Partial<GatewayInput> = {},
  io: Partial<Pick<SocketDependencies, 'beforeIdentify' | 'onSent'>> = {},
) {
  const clock = new ManualClock();
  const sockets = new FakeSocketFactory();
  // `dispatches`: the session's events; `everyDispatch`: everything on('dispatch') got, READY and RESUMED too.
  const dispatches: DispatchPayload[] = [];
  const everyDispatch: DispatchPayload[] = [];
  const errors: Error[] = [];
  const plans: RecoveryPlan[] = [];
  const warnings: string[] = [];
  const reconnects: ReconnectKind[] = [];
  const phases: string[] = [];
  const gatewayEvents: string[] = [];
  let states: string[] = [];
  let root: unknown;

  const machine = createGatewayMachine({
    createSocket: sockets.create,
    protocol: discordProtocol({ token: TOKEN, intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages }),
    onDispatch: (payload) => {
      everyDispatch.push(payload);
      if (!isHandshakeAnswer(payload)) dispatches.push(payload);
    },
    onError: (error) => errors.push(error),
    ...io,
  });

  const inspect = (event: InspectionEvent) => {
    const kind = reconnectKinds[inspectedId(event)];
    if (kind && event.type === '@xstate.actor') reconnects.push(kind);
    if (kind && event.type === '@xstate.snapshot') {
      const phase = `${kind}:${stateName((event.snapshot as { value?: unknown }).value)}`;
      if (phases.at(-1) !== phase) phases.push(phase);
    }
    if (event.type === '@xstate.event' && event.actorRef === root) gatewayEvents.push(event.event.type);
  };

  const actor = startActor(
    machine,
    {
      input: { url: MAIN_URL, allowedResumeHosts: ['*.discord.gg'], ...input },
      clock,
      inspect,
    },
    (created) => {
      root = created;
      states = recordStates(created);
      created.on('recovery', ({ plan }) => plans.push(plan));
      created.on('warning', ({ message }) => warnings.push(message));
    },
  );

  onTestFinished(() => {
    expect(sockets.violations, 'two sockets were live at once').toEqual([]);
  });

  const harness = {
    actor,
    clock,
    sockets,
    states,
    dispatches,
    everyDispatch,
    errors,
    plans,
    warnings,
    reconnects,
    phases,
    gatewayEvents,

    get state(): string {
      return stateName(actor.getSnapshot().value);
    },
    get status() {
      return actor.getSnapshot().status;
    },
    get output() {
      return actor.getSnapshot().output;
    },
    get context() {
      return actor.getSnapshot().context;
    },
    get socket(): FakeSocket {
      return sockets.latest;
    },
    /** The triggers and actions of the recovery plans so far, e.g. `close:resume`. */
    planSummary(): string[] {
      return plans.map((plan) => `${plan.trigger.type}:${plan.action}`);
    },

    /** Sends `start` and runs the immediate first attempt: a socket exists afterwards. */
    start(): FakeSocket {
      actor.send({ type: 'start' });
      clock.flush();
      return sockets.latest;
    },
    /** The newest socket opens and the server says HELLO. */
    openWithHello(interval = HEARTBEAT_INTERVAL): FakeSocket {
      const socket = sockets.latest;
      socket.open();
      socket.receive(serverFrames.hello(interval));
      return socket;
    },
    /** From idle to ready with a fresh session whose READY carries `seq`. */
    startReady(sessionId = 'session-1', seq = 1, resumeUrl: string | null = RESUME_URL): FakeSocket {
      harness.start();
      const socket = harness.openWithHello();
      socket.receive(serverFrames.ready(seq, sessionId, resumeUrl));
      return socket;
    },
    /** Ready, then stable: the next fault retries at once (no backoff). */
    startStable(sessionId = 'session-1', seq = 1): FakeSocket {
      const socket = harness.startReady(sessionId, seq);
      clock.advance(actor.getSnapshot().context.timeouts.stable);
      return socket;
    },
  };
  return harness;
}

export type GatewayHarness = ReturnType<typeof startGatewayHarness>;
