import { connectionOf } from '../../src/connection/connection.ts';
import { createGateway, discordProtocol, type Gateway, type GatewayStateChange } from '../../src/index.ts';
import type { StreamCompression } from '../../src/compression/transportCompression.ts';
import type { DispatchPayload } from '../../src/types.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import { render, type FuzzCase, type Rendered } from './frameModel.ts';
import { expectationFor, type Expectation } from './oracle.ts';
import { describeFailure, FuzzFailure, knownIssues, maxErrorMessageLength } from './verdicts.ts';
import { Waiter } from './waiter.ts';

/**
 * One chaos gateway and one client on real sockets, reused case after case: send a frame, see
 * the engine answer it as the oracle says, wait until it is ready again, go on. Timeouts are
 * generous because they only matter when something is already wrong; recovery itself is fast
 * (no backoff to speak of, a session is stable at once).
 */

export interface RigOptions {
  /** the client's `ws` maxPayload, in bytes */
  maxPayload: number;
  /** the stream the client asks for; every case's frame then goes through the server's compressor */
  compression?: StreamCompression;
  /** longest wait for any one step before the case counts as a hang */
  stepTimeoutMs?: number;
}

export type CaseOutcome = 'stayed' | 'recovered' | 'accepted';

export interface CaseResult {
  outcome: CaseOutcome;
  /** `error` events the case produced (all of them expected) */
  errors: number;
  /** names of known, reported bugs the case ran into (see `knownIssues`) */
  knownIssues: string[];
}

const barrierEvent = 'FUZZ_BARRIER';

export class FuzzRig {
  readonly errors: Error[] = [];
  readonly dispatches: DispatchPayload[] = [];
  private readonly states: GatewayStateChange[] = [];
  private readyGeneration = -1;
  /** every error and dispatch payload the engine handed out: none may still be alive after a GC */
  private handedOut: WeakRef<object>[] = [];
  private readonly waiter: Waiter;

  private constructor(
    readonly server: ChaosGateway,
    readonly gateway: Gateway,
    private readonly options: RigOptions & { stepTimeoutMs: number },
  ) {
    this.waiter = new Waiter(options.stepTimeoutMs);
    gateway.on('error', (error) => this.note(() => this.errors.push(error)));
    gateway.on('dispatch', (payload) => this.note(() => this.dispatches.push(payload)));
    gateway.on('state', (state) =>
      this.note(() => {
        this.states.push(state);
        if (state.state === 'ready') this.readyGeneration = state.generation;
      }),
    );
  }

  static async start(options: RigOptions & { token: string }): Promise<FuzzRig> {
    const server = await startChaosGateway({ heartbeatInterval: 45_000, token: options.token });
    const gateway = createGateway({
      url: server.url,
      protocol: discordProtocol({ token: options.token, intents: 513 }),
      socket: { maxPayload: options.maxPayload },
      compression: options.compression ?? 'none',
      timeouts: { connect: 2_000, hello: 2_000, ready: 2_000, drain: 500, terminateGrace: 200, stable: 0 },
      backoff: { baseMs: 1, maxMs: 4, invalidSessionMinMs: 0, invalidSessionMaxMs: 2 },
    });
    const rig = new FuzzRig(server, gateway, { stepTimeoutMs: 5_000, ...options });
    try {
      await gateway.start();
    } catch (error) {
      await rig.close();
      throw error;
    }
    return rig;
  }

  get ledgerSeq(): number | null {
    return connectionOf(this.gateway.actor.getSnapshot().context.connection).ledger.seq;
  }

  /** Length of the serialised gateway snapshot: it must not grow with the number of cases. */
  get snapshotChars(): number {
    return JSON.stringify(this.gateway.actor.getSnapshot()).length;
  }

  async runCase(fuzzCase: FuzzCase): Promise<CaseResult> {
    await this.until(() => this.gateway.status === 'ready', 'ready before the case');
    this.errors.length = 0;
    this.dispatches.length = 0;
    this.states.length = 0;
    this.server.resetCounters();
    const ledger = this.ledgerSeq;
    const rendered = render(fuzzCase.body, ledger ?? 0, this.options.maxPayload, this.options.compression);
    const expected = expectationFor(rendered, fuzzCase.phase, ledger, this.options.maxPayload, this.options.compression !== undefined);
    const fail = (what: string): never => {
      const trace = {
        fuzzCase,
        rendered,
        expected,
        ledger,
        errors: this.errors,
        states: this.statesSummary(),
        status: this.gateway.status,
      };
      throw new FuzzFailure(describeFailure(what, trace));
    };
    if (expected.outcome === 'unsupported') return fail(`the generator made a case with no rule: ${expected.why}`);

    let result: CaseResult;
    if (fuzzCase.phase === 'ready') result = await this.onReadySession(rendered, expected, fail);
    else result = await this.inHandshake(fuzzCase.phase, rendered, expected, fail);

    for (const error of this.errors) {
      this.track(error);
      const known = knownIssues.find((issue) => issue.matches(error));
      if (known) result.knownIssues.push(known.name);
      else if (error.message.length > maxErrorMessageLength)
        fail(`an error message of ${error.message.length} characters: ${error.message.slice(0, 120)}…`);
    }
    for (const payload of this.dispatches) this.track(payload);
    return result;
  }

  private async onReadySession(rendered: Rendered, expected: Expectation, fail: (what: string) => never): Promise<CaseResult> {
    const generation = this.readyGeneration;
    this.send(rendered);
    if (expected.outcome === 'stays') {
      // Frames are handled in order: once a dispatch sent after the case arrives, the case's frame
      // was handled. Its sequence is one past where the ledger must be, so a wrong ledger drops it.
      const barrierSeq = (expected.ledger ?? -1) + 1;
      this.send({ data: JSON.stringify({ op: 0, t: barrierEvent, s: barrierSeq, d: {} }), binary: false });
      await this.until(
        () =>
          this.dispatches.some((d) => (d.t as string) === barrierEvent) ||
          this.readyGeneration !== generation ||
          this.gateway.status !== 'ready' ||
          this.errors.length > (expected.warning ? 1 : 0),
        'the frame to be handled (a dispatch sent after it to arrive)',
        fail,
      );
      if (expected.warning) this.checkErrors(expected.warning, fail);
      else if (this.errors.length > 0) fail('an error event for a frame that is valid');
      if (this.readyGeneration !== generation || this.gateway.status !== 'ready') fail('a reconnect for a frame that is valid');
      const delivered = this.dispatches.filter((d) => (d.t as string) !== barrierEvent);
      if (delivered.length !== (expected.delivers ? 1 : 0))
        fail(`${delivered.length} dispatches delivered, expected ${expected.delivers ? 1 : 0}`);
      if (this.ledgerSeq !== barrierSeq) fail(`the ledger is at ${this.ledgerSeq} after the barrier, expected ${barrierSeq}`);
      if (expected.answersHeartbeat) {
        await this.until(
          () => this.server.received.some((f) => f.op === 1 && f.d === expected.ledger),
          `a heartbeat carrying the last sequence (${expected.ledger})`,
          fail,
        );
      }
      return { outcome: 'stayed', errors: 0, knownIssues: [] };
    }
    if (expected.outcome !== 'recovers') return fail('a phase mix-up in the oracle');
    await this.until(
      () => this.readyGeneration > generation || this.gateway.actor.getSnapshot().status !== 'active',
      'ready again after the frame',
      fail,
    );
    if (this.gateway.status !== 'ready') fail(`the gateway ended ${this.gateway.status} instead of recovering`);
    this.checkErrors(expected.error, fail);
    return { outcome: 'recovered', errors: this.errors.length, knownIssues: [] };
  }

  /** Puts the frame where HELLO (`hello`) or READY (`identify`) would have been. */
  private async inHandshake(
    phase: 'hello' | 'identify',
    rendered: Rendered,
    expected: Expectation,
    fail: (what: string) => never,
  ): Promise<CaseResult> {
    const generation = this.readyGeneration;
    const inject = () => this.send(rendered);
    let off: () => void;
    if (phase === 'hello') {
      this.server.stallHello(1);
      off = this.server.on('connection', () => (off(), inject()));
    } else {
      this.server.stallReady(1);
      off = this.server.on('identify', () => (off(), inject()));
    }
    try {
      void this.gateway.reconnect({ fresh: phase === 'identify' });
      // The case's socket is generation + 1: accepted, it is the one that gets ready.
      const target = expected.outcome === 'accepted' ? generation + 1 : generation + 2;
      await this.until(
        () => this.readyGeneration >= target || this.gateway.actor.getSnapshot().status !== 'active',
        `ready at generation ${target}`,
        fail,
      );
    } finally {
      off();
    }
    if (this.gateway.status !== 'ready') fail(`the gateway ended ${this.gateway.status} instead of recovering`);
    if (expected.outcome === 'accepted') {
      if (this.readyGeneration !== generation + 1) fail('a frame that should complete the handshake was refused');
      this.checkErrors(expected.warning, fail);
      const errors = this.errors.length;
      // Back to a session the server knows, with its heartbeat interval rather than the case's.
      await this.gateway.reconnect({ fresh: phase === 'identify' });
      return { outcome: 'accepted', errors, knownIssues: [] };
    }
    if (expected.outcome !== 'recovers') return fail('a phase mix-up in the oracle');
    this.checkErrors(expected.error, fail);
    return { outcome: 'recovered', errors: this.errors.length, knownIssues: [] };
  }

  /** On a compressed connection a case's frame is one message of the stream, unless it is a fault of the stream. */
  private send(rendered: Rendered) {
    const compressed = this.options.compression !== undefined && rendered.streamFault === undefined;
    this.server.sendRaw(rendered.data, compressed ? { compressed: true } : { binary: rendered.binary });
  }

  private checkErrors(expected: RegExp | null, fail: (what: string) => never) {
    if (expected === null) {
      if (this.errors.length > 0) fail('error events where none were expected');
      return;
    }
    if (!this.errors.some((e) => expected.test(e.message))) fail(`no error event matching ${expected}`);
    // A frame `ws` refuses also closes the socket, and the close is reported as a fault of its own.
    const others = this.errors.filter((e) => !expected.test(e.message) && (e as { code?: string }).code !== 'SOCKET_CLOSED');
    if (others.length > 0) fail(`unexpected error events besides the one matching ${expected}`);
  }

  private track(value: object) {
    this.handedOut.push(new WeakRef(value));
  }

  /** Drops the rig's own references to the last case's errors and payloads, before a GC. */
  release(): void {
    this.errors.length = 0;
    this.dispatches.length = 0;
  }

  /**
   * How many errors and payloads handed out so far are still reachable, and how many were
   * tracked. Call after release() and a full GC: anything still alive is held by the engine.
   */
  retained(): { alive: number; tracked: number } {
    const alive = this.handedOut.filter((ref) => ref.deref() !== undefined).length;
    return { alive, tracked: this.handedOut.length };
  }

  private note(update: () => void) {
    update();
    this.waiter.notify();
  }

  private until(predicate: () => boolean, what: string, fail?: (what: string) => never): Promise<void> {
    return this.waiter.until(
      predicate,
      what,
      fail ??
        ((message) => {
          throw new FuzzFailure(message);
        }),
    );
  }

  statesSummary(): string {
    return this.states
      .map((s) => [s.state, s.kind, s.phase, s.reason && `(${s.reason.slice(0, 60)})`].filter(Boolean).join(':'))
      .join(' → ');
  }

  async close(): Promise<void> {
    await this.gateway.stop();
    await this.server.close();
  }
}
