import { GatewayOpcodes } from 'discord-api-types/v10';
import { connectionOf } from '../../src/connection/connection.ts';
import { GatewayError } from '../../src/index.ts';
import type { RecoveryPlan } from '../../src/core/recovery.ts';
import type { OutboxOptions } from '../../src/outbox.ts';
import type { DispatchPayload } from '../../src/types.ts';
import { stateName } from '../support/actors.ts';
import { isHandshakeAnswer } from '../support/discordFrames.ts';
import type { FakeSocket } from '../support/fakeSocket.ts';
import { FakeServer, type Connection } from '../support/fakeServer.ts';
import { ManualClock } from '../support/manualClock.ts';
import { gatewayDriver, machineDriver, type Driver, type GatewayMachine } from './drivers.ts';
import type { ResumeUrlChoice, Schedule } from './schedule.ts';
import { SendTracker, type SendLimits } from './sends.ts';

export const MAIN_URL = 'wss://gateway.discord.gg/?v=10&encoding=json';
const resumeUrls: Record<ResumeUrlChoice, string | null> = {
  allowed: 'wss://us-east1-b.gateway.discord.gg',
  none: null,
  refused: 'wss://gateway.evil.example',
};
/** Where a RESUME must go: the allowed resume URL with the main URL's query, else the main URL. */
const resumeTargets: Record<ResumeUrlChoice, string> = {
  allowed: 'wss://us-east1-b.gateway.discord.gg/?v=10&encoding=json',
  none: MAIN_URL,
  refused: MAIN_URL,
};

/** Outbox limits a few sends run into: 4 user payloads per second per connection, 4 queued. */
const tightOutbox: Partial<OutboxOptions> = { maxQueued: 4, sendsPerWindow: 6, reservedSends: 2, windowMs: 1_000 };
const defaultSendLimits: SendLimits = { perWindow: 110, windowMs: 60_000 };

/** Errors the engine reports as values in the course of a schedule; anything else is a finding. */
const expectedErrorCodes = new Set([
  'CONNECT_FAILED',
  'CONNECT_TIMEOUT',
  'HELLO_TIMEOUT',
  'READY_TIMEOUT',
  'ZOMBIE',
  'SOCKET_CLOSED',
  'DRAIN_FAILED',
  'AUTH_FAILED',
  'FATAL_CLOSE',
  'RESUME_URL_REJECTED',
  // A RESUMED takes a sequence number; one lost with its socket is never replayed, so the next
  // resume sees a gap. Lost dispatches are caught by the delivery checks, not by this warning.
  'SEQUENCE_GAP',
]);
const expectedSocketErrors = new Set(['WebSocket was closed before the connection was established', 'connect ECONNRESET (simulated)']);

export interface Delivered {
  last: number;
  count: number;
}

/** A promise the schedule chose to watch, to prove it settles once the gateway is done. */
export interface Watched {
  what: string;
  settled: boolean;
}

/**
 * Everything one schedule runs against: the real engine (through createGateway() or straight
 * through its statechart, see drivers.ts) over fake sockets driven by the fake server, on a manual
 * clock, plus the records the invariants are checked against. Listeners never throw: a broken
 * invariant is recorded in `violations` and the runner stops at the step.
 */
export class World {
  readonly clock = new ManualClock();
  readonly server: FakeServer;
  readonly driver: Driver;
  readonly violations: string[] = [];
  readonly trace: string[] = [];
  readonly plans: RecoveryPlan[] = [];
  /** per session: the last sequence delivered and how many were */
  readonly delivered = new Map<string, Delivered>();
  readonly watched: Watched[] = [];
  readonly sends: SendTracker;
  /** a logical clock: a RESUME may only name a session made ready after the last fresh request */
  tick = 0;
  lastFreshRequest = 0;
  readonly readyAt = new Map<string, number>();
  stopRequestedAt: number | undefined;
  socketsAtStop = 0;
  /** the socket that was live when a zombie was declared: it must be terminated, not closed */
  zombieSocket: FakeSocket | undefined;
  /** sockets when the engine decided to give up (fatal or fail-closed): it must open no more */
  socketsAtFailure: number | undefined;
  #lastState = '';

  constructor(
    readonly schedule: Schedule,
    readonly tracing = false,
    /** a statechart to run instead of the real one (to prove a broken engine is caught) */
    machine?: GatewayMachine,
  ) {
    this.server = new FakeServer({
      clock: this.clock,
      latency: schedule.latency,
      heartbeatInterval: schedule.heartbeatInterval,
      resumeUrl: resumeUrls[schedule.resumeUrl],
      replayOverlap: schedule.replayOverlap,
    });
    this.server.onClientFrame = (connection, frame) => this.#onClientFrame(connection, frame);
    const api = schedule.api === 'gateway' && !machine;
    const tight = schedule.outbox === 'tight' && api;
    const limits = tight ? { perWindow: 4, windowMs: 1_000 } : defaultSendLimits;
    this.sends = new SendTracker((message) => this.violate(message), api, limits);
    this.driver = (api ? gatewayDriver : machineDriver)({
      machine,
      url: MAIN_URL,
      timeouts: schedule.timeouts,
      backoff: schedule.backoff,
      clock: this.clock,
      outbox: tight ? tightOutbox : {},
      createSocket: this.server.createSocket,
      onDispatch: (payload) => this.#onDispatch(payload),
      onError: (error) => this.#onError(error),
      onSent: (id, error) => {
        if (error) this.violate(`payload ${id} sent while ready failed to write: ${error.message}`);
      },
    });
    this.driver.actor.on('recovery', ({ plan }) => this.#onPlan(plan));
    // The error observer keeps a crash from being rethrown asynchronously; checkStep reports it.
    this.driver.actor.subscribe({ next: () => this.#onSnapshot(), complete: () => this.#onSnapshot(), error: () => {} });
  }

  get snapshot() {
    return this.driver.actor.getSnapshot();
  }

  get done(): boolean {
    return this.snapshot.status === 'done';
  }

  get state(): string {
    return stateName(this.snapshot.value);
  }

  /** the longest a stop may take, in simulated ms */
  get stopBound(): number {
    return this.schedule.timeouts.drain + this.schedule.timeouts.terminateGrace;
  }

  violate(message: string): void {
    this.violations.push(`${message} (at ${this.clock.now()} ms, gateway ${this.state})`);
  }

  /** Adds to the trace, only when tracing: a failing schedule is replayed with tracing on. */
  note(line: () => string): void {
    if (!this.tracing) return;
    this.trace.push(`${String(this.clock.now()).padStart(7)} ms  ${line()}`);
    if (this.trace.length > 80) this.trace.shift();
  }

  markFreshRequest(): void {
    this.lastFreshRequest = ++this.tick;
  }

  watch(promise: Promise<unknown>, what: string): void {
    const entry: Watched = { what, settled: false };
    this.watched.push(entry);
    const settle = () => {
      entry.settled = true;
    };
    promise.then(settle, settle);
  }

  #onSnapshot(): void {
    const snapshot = this.snapshot;
    const state = stateName(snapshot.value);
    if (state === this.#lastState) return;
    const entered = state === 'ready' && this.#lastState !== 'ready';
    this.#lastState = state;
    this.note(() => `gateway → ${state}`);
    if (!entered) return;
    this.sends.sessionReady();
    const { session, lastHandshake, connection } = snapshot.context;
    const { ledger } = connectionOf(connection);
    if (!session) return this.violate('ready without a session');
    if (lastHandshake === 'identify') this.readyAt.set(session.sessionId, ++this.tick);
    else this.checkNoneMissing(session.sessionId, ledger.seq ?? 0, 'after RESUMED');
  }

  /** Every event the server logged for the session up to `seq` has been delivered, each once. */
  checkNoneMissing(sessionId: string, seq: number, when: string): void {
    const session = this.server.sessions.get(sessionId);
    if (!session) return this.violate(`the gateway holds session ${sessionId}, which the server never made`);
    const expected = session.dispatchesUpTo(seq);
    const got = this.delivered.get(sessionId)?.count ?? 0;
    if (got !== expected) {
      this.violate(`${when}: ${sessionId} delivered ${got} events but the server dispatched ${expected} up to seq ${seq}`);
    }
  }

  #onPlan(plan: RecoveryPlan): void {
    this.plans.push(plan);
    this.note(() => `plan: ${plan.trigger.type === 'close' ? `close ${plan.trigger.code}` : plan.trigger.type} → ${plan.action}`);
    if (plan.action === 'fresh') this.markFreshRequest();
    if (plan.action === 'fresh') this.sends.freshPlanned();
    if (plan.action === 'fatal' || plan.action === 'failClosed') this.socketsAtFailure ??= this.server.sockets.sockets.length;
    if (plan.trigger.type === 'zombie') this.zombieSocket = this.server.sockets.sockets.at(-1);
    if (plan.trigger.type === 'socketFailure') this.violate(`an actor crashed or a socket was refused: ${plan.trigger.message}`);
    if (plan.trigger.type === 'drainFailed') {
      const stuck = this.server.sockets.sockets.find((s) => s.isLive);
      const terminated = stuck?.calls.some((call) => call.method === 'terminate');
      if (!stuck || !terminated) {
        this.violate('the engine failed closed although no socket had ignored terminate()');
      }
    }
  }

  #onClientFrame(connection: Connection, frame: { op: number; d: unknown }): void {
    const { id, socket } = connection;
    if (frame.op === 3) return this.sends.written(id, (frame.d as { nonce: number }).nonce, this.clock.now());
    if (frame.op === GatewayOpcodes.Identify) {
      this.note(() => `#${id} IDENTIFY sent`);
      if (socket.url !== MAIN_URL) this.violate(`IDENTIFY sent on a socket to ${socket.url}: a fresh session starts on the main URL`);
    }
    if (frame.op !== GatewayOpcodes.Resume) return;
    const sessionId = String((frame.d as { session_id?: unknown }).session_id);
    this.note(() => `#${id} RESUME ${sessionId} sent`);
    const readyAt = this.readyAt.get(sessionId) ?? -1;
    if (readyAt < this.lastFreshRequest) {
      this.violate(`RESUME of ${sessionId} sent after a fresh request; the next handshake had to be IDENTIFY`);
    }
    // A session whose resume URL failed twice in a row resumes on the main URL (the recovery table).
    const gaveUpResumeUrl = this.snapshot.context.session?.resumeUrl === null;
    const target = gaveUpResumeUrl ? MAIN_URL : resumeTargets[this.schedule.resumeUrl];
    if (socket.url !== target) this.violate(`RESUME sent on a socket to ${socket.url}, expected ${target}`);
  }

  #onDispatch(payload: DispatchPayload): void {
    if (this.done) this.violate(`event ${payload.s} delivered after the gateway ended`);
    // READY and RESUMED answer a handshake; the invariants here are about the session's own events.
    if (isHandshakeAnswer(payload)) return;
    const { session: sessionId, seq } = payload.d as unknown as { session: string; seq: number };
    const session = this.server.sessions.get(sessionId);
    if (seq !== payload.s || !session?.isDispatch(payload.s)) {
      return this.violate(`delivered an event the server never dispatched: ${JSON.stringify(payload)}`);
    }
    const record = this.delivered.get(sessionId) ?? { last: 0, count: 0 };
    if (payload.s <= record.last) this.violate(`${sessionId}: seq ${payload.s} delivered after ${record.last} (duplicate or out of order)`);
    record.last = payload.s;
    record.count += 1;
    this.delivered.set(sessionId, record);
    const current = this.snapshot.context.session?.sessionId;
    if (current !== sessionId) this.violate(`an event of ${sessionId} was delivered while the gateway's session is ${current ?? 'none'}`);
  }

  #onError(error: Error): void {
    const code = error instanceof GatewayError ? error.code : undefined;
    const expected =
      error.name === 'GatewayProtocolError' ||
      error.name === 'OutboxError' ||
      (code !== undefined && expectedErrorCodes.has(code)) ||
      (code === undefined && expectedSocketErrors.has(error.message));
    if (!expected) this.violate(`unexpected error reported: ${error.name}${code ? ` ${code}` : ''}: ${error.message}`);
  }
}
