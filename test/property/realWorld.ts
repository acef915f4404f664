import fc from 'fast-check';
import WebSocket from 'ws';
import { createGateway, discordProtocol, type Gateway } from '../../src/index.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import { testCompression } from '../support/compression.ts';
import { isHandshakeAnswer } from '../support/discordFrames.ts';
import { fatalCodes, freshCodes, resumableCodes, describeStep, type Step } from './schedule.ts';
import { CountingClock, RealSocketTracker } from './realSockets.ts';
import { SendTracker } from './sends.ts';

/** Short real timeouts: a schedule takes a few hundred milliseconds. */
const timeouts = { connect: 500, hello: 120, ready: 150, drain: 80, terminateGrace: 40, stable: 10_000 };
const backoff = { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 };
/** What a busy machine may add to drain + grace before stop() resolves. */
const stopSlackMs = 400;
const token = 'real-property-token';

export interface RealSchedule {
  heartbeatInterval: number;
  steps: Step[];
}

const realStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 60 }).map((ms): Step => ({ kind: 'advance', ms })) },
  { weight: 2, arbitrary: fc.constantFrom(...resumableCodes, ...freshCodes).map((code): Step => ({ kind: 'close', code })) },
  { weight: 1, arbitrary: fc.constantFrom(...fatalCodes).map((code): Step => ({ kind: 'close', code })) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'drop' }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'op7' }) },
  { weight: 1, arbitrary: fc.boolean().map((resumable): Step => ({ kind: 'op9', resumable })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ kind: fc.constantFrom('stallHello', 'stallReady'), count: fc.integer({ min: 1, max: 3 }) })
      .map((s) => s as Step),
  },
  { weight: 1, arbitrary: fc.boolean().map((on): Step => ({ kind: 'dropAcks', on })) },
  { weight: 1, arbitrary: fc.boolean().map((terminateToo): Step => ({ kind: 'stick', terminateToo })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'unstick' }) },
  { weight: 1, arbitrary: fc.constantFrom('json', 'binary', 'op', 'hello').map((frame): Step => ({ kind: 'malformed', frame })) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }).map((count): Step => ({ kind: 'dispatch', count })) },
  { weight: 2, arbitrary: fc.record({ fresh: fc.boolean(), observe: fc.boolean() }).map((r): Step => ({ kind: 'reconnect', ...r })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((count): Step => ({ kind: 'send', count })) },
  { weight: 1, arbitrary: fc.boolean().map((observe): Step => ({ kind: 'stop', observe })) },
);

export const realScheduleArbitrary: fc.Arbitrary<RealSchedule> = fc.record({
  heartbeatInterval: fc.constantFrom(50, 1_000),
  steps: fc.array(realStep, { minLength: 1, maxLength: 10 }),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One real-socket schedule: createGateway() on real `ws` sockets against the chaos gateway, with
 * the invariants that can be observed from outside a real network checked after every step.
 */
export class RealWorld {
  readonly violations: string[] = [];
  readonly clock = new CountingClock();
  readonly tracker = new RealSocketTracker((_, frame) => this.#onSend(frame));
  readonly sends = new SendTracker((message) => this.violations.push(message), true, undefined);
  readonly delivered = new Map<string, { last: number; count: number }>();
  readonly watched: Array<{ what: string; settled: boolean }> = [];
  readonly readyAt = new Map<string, number>();
  tick = 0;
  lastFreshRequest = 0;
  socketsAtFailure: number | undefined;
  stopCalledAt: number | undefined;
  stopTookMs: number | undefined;
  gateway!: Gateway;

  private constructor(readonly server: ChaosGateway) {}

  static async start(schedule: RealSchedule): Promise<RealWorld> {
    const world = new RealWorld(await startChaosGateway({ heartbeatInterval: schedule.heartbeatInterval, token }));
    const gateway = createGateway({
      url: world.server.url,
      protocol: discordProtocol({ token, intents: 513 }),
      timeouts,
      backoff,
      createSocket: world.tracker.createSocket,
      clock: world.clock,
      compression: testCompression(),
    });
    world.gateway = gateway;
    // READY and RESUMED answer a handshake; the invariants here are about the session's own events.
    gateway.on('dispatch', (payload) => {
      if (!isHandshakeAnswer(payload)) world.#onDispatch(payload.s, payload.d);
    });
    gateway.on('state', (change) => {
      if (change.state === 'ready') world.sends.sessionReady();
      const session = gateway.actor.getSnapshot().context.session;
      if (change.state === 'ready' && change.handshake === 'identify' && session) world.readyAt.set(session.sessionId, ++world.tick);
    });
    gateway.actor.on('recovery', ({ plan }) => {
      if (plan.action === 'fresh') world.lastFreshRequest = ++world.tick;
      if (plan.action === 'fresh') world.sends.freshPlanned();
      if (plan.action === 'fatal' || plan.action === 'failClosed') world.socketsAtFailure ??= world.tracker.sockets.length;
    });
    world.#watch(gateway.start(), 'start()');
    return world;
  }

  get status() {
    return this.gateway.status;
  }

  async perform(step: Step): Promise<void> {
    const { server, gateway } = this;
    switch (step.kind) {
      case 'advance':
        return void (await sleep(step.ms));
      case 'close':
        return server.closeWith(step.code);
      case 'drop':
        return server.kill();
      case 'op7':
        return server.requestReconnect();
      case 'op9':
        return server.invalidateSession(step.resumable);
      case 'stallHello':
        return server.stallHello(step.count);
      case 'stallReady':
        return server.stallReady(step.count);
      case 'dropAcks':
        return server.dropAcks(step.on);
      case 'stick':
        server.neverCloseHandshake(true);
        if (step.terminateToo) this.tracker.deaf = true;
        return;
      case 'unstick':
        server.neverCloseHandshake(false);
        this.tracker.deaf = false;
        return;
      case 'malformed':
        if (step.frame === 'binary') return server.sendRaw(Buffer.from('{"op":11}'), { binary: true });
        return server.sendRaw(
          step.frame === 'json' ? '{"op": 0, "t": ' : step.frame === 'op' ? '{"op":99}' : '{"op":10,"d":{"heartbeat_interval":-1}}',
        );
      case 'heartbeatRequest':
        return server.requestHeartbeat();
      case 'dispatch':
        for (let i = 0; i < step.count; i += 1) server.dispatch();
        return;
      case 'reconnect':
        if (step.fresh) this.lastFreshRequest = ++this.tick;
        return this.#watch(gateway.reconnect({ fresh: step.fresh }), describeStep(step), step.observe);
      case 'send':
        for (let i = 0; i < step.count; i += 1) {
          const { nonce, body } = this.sends.payload(this.status === 'ready', gateway.actor.getSnapshot().status === 'done');
          this.sends.watch(nonce, gateway.send(body));
        }
        return;
      case 'stop':
        this.stopCalledAt ??= performance.now();
        return this.#watch(gateway.stop(), 'stop()', step.observe);
      default:
        return;
    }
  }

  /** The invariants, after a step and a moment for the network. */
  async check(): Promise<void> {
    await sleep(5);
    if (this.tracker.maxLive > 1) this.violations.push(`${this.tracker.maxLive} sockets live at once`);
    if (this.socketsAtFailure !== undefined && this.tracker.sockets.length > this.socketsAtFailure) {
      this.violations.push('a socket was created after the engine gave up (fatal or fail-closed)');
    }
    await this.#checkNoneMissing();
  }

  /** While ready, the session has delivered every event the server dispatched to it (once in flight ones land). */
  async #checkNoneMissing(): Promise<void> {
    const deadline = performance.now() + 300;
    for (;;) {
      const session = this.gateway.actor.getSnapshot().context.session?.sessionId;
      const stats = session ? this.server.sessionStats(session) : undefined;
      if (this.status !== 'ready' || !session || !stats) return;
      const got = this.delivered.get(session)?.count ?? 0;
      if (got >= stats.dispatched) return;
      if (performance.now() > deadline) {
        return void this.violations.push(`ready on ${session.slice(0, 8)} with ${got} of its ${stats.dispatched} events delivered`);
      }
      await sleep(5);
    }
  }

  /** Stops (if the schedule did not), then checks that stop was bounded and left nothing behind. */
  async finish(): Promise<void> {
    if (this.stopCalledAt === undefined) await this.perform({ kind: 'stop', observe: true });
    const bound = timeouts.drain + timeouts.terminateGrace + stopSlackMs;
    await Promise.race([this.gateway.stop(), sleep(bound + 1_000)]);
    this.stopTookMs = performance.now() - this.stopCalledAt!;
    const snapshot = this.gateway.actor.getSnapshot();
    if (snapshot.status !== 'done')
      return void this.violations.push(`stop() not done ${Math.round(this.stopTookMs)} ms after it was called`);
    if (this.stopTookMs > bound)
      this.violations.push(`stop() took ${Math.round(this.stopTookMs)} ms (drain + grace + slack = ${bound} ms)`);
    const expected = this.socketsAtFailure === undefined ? 'stopped' : 'failed';
    if (snapshot.value !== expected) this.violations.push(`ended ${String(snapshot.value)}, expected ${expected}`);
    if (Object.keys(snapshot.children).length > 0) this.violations.push(`child actors left: ${Object.keys(snapshot.children).join(', ')}`);
    if (this.clock.pending.size > 0) this.violations.push(`${this.clock.pending.size} statechart timer(s) left`);
    this.tracker.sockets.forEach(({ socket, deaf, terminateCalled }, index) => {
      const counts = ['open', 'message', 'close', 'error'].map((event) => socket.listenerCount(event));
      if (counts[0]! + counts[1]! + counts[2]! > 0 || counts[3] !== 1) {
        this.violations.push(`socket #${index + 1} has listeners left (open, message, close, error: ${counts.join(', ')})`);
      }
      if (socket.readyState !== WebSocket.CLOSED && !(deaf && terminateCalled)) {
        this.violations.push(`socket #${index + 1} left ${socket.readyState === WebSocket.OPEN ? 'open' : 'closing'} without cause`);
      }
    });
  }

  /** Everything really closed, then the checks that need promises to have had their turn. */
  async close(): Promise<void> {
    await this.tracker.destroyAll();
    await this.server.close();
    await sleep(0);
    for (const { what, settled } of this.watched) if (!settled) this.violations.push(`${what} never settled`);
    this.sends.checkSettled();
  }

  #watch(promise: Promise<unknown>, what: string, observe = true): void {
    if (!observe) return;
    const entry = { what, settled: false };
    this.watched.push(entry);
    const settle = () => void (entry.settled = true);
    promise.then(settle, settle);
  }

  #onSend(frame: { op: number; d: unknown }): void {
    if (frame.op === 3) return this.sends.written(0, (frame.d as { nonce: number }).nonce, performance.now());
    if (frame.op !== 6) return;
    const sessionId = String((frame.d as { session_id?: unknown }).session_id);
    if ((this.readyAt.get(sessionId) ?? -1) < this.lastFreshRequest) {
      this.violations.push(`RESUME of ${sessionId.slice(0, 8)} sent after a fresh request; the next handshake had to be IDENTIFY`);
    }
  }

  #onDispatch(seq: number, d: unknown): void {
    const session = this.gateway.actor.getSnapshot().context.session?.sessionId;
    if (!session || (d as { seq?: unknown }).seq !== seq) return void this.violations.push(`event ${seq} delivered out of place`);
    const record = this.delivered.get(session) ?? { last: 0, count: 0 };
    if (seq <= record.last) this.violations.push(`${session.slice(0, 8)}: seq ${seq} delivered after ${record.last}`);
    record.last = Math.max(record.last, seq);
    record.count += 1;
    this.delivered.set(session, record);
  }
}
