import net from 'node:net';
import WebSocket from 'ws';
import { createActor, type AnyActorLogic, type AnyActorRef, type InspectionEvent } from 'xstate';
import { drainMachine } from '../../src/machines/drainMachine.ts';
import { freshReconnectMachine } from '../../src/machines/freshReconnectMachine.ts';
import { resumeReconnectMachine } from '../../src/machines/resumeReconnectMachine.ts';
import { createIdentifyTurn } from '../../src/actors/identifyTurn.ts';
import { createSocketActor } from '../../src/actors/socket.ts';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import { gatewayMachine } from '../../src/machines/gatewayMachine.ts';
import type { Timeouts, WebSocketLike } from '../../src/types.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import { testCompression, testTransportCompression } from '../support/compression.ts';
import { CoverageRecorder } from './coverage.ts';
import { valueKey } from './modelPaths.ts';
import { jsonRoundTripProblem } from './plainData.ts';

/**
 * The real engine, on real `ws` sockets against the chaos gateway, with every fault a model path
 * can ask for arranged ahead of time. Faults are keyed by socket generation, so an arrangement made
 * before a path runs lands on exactly the reconnect it was meant for.
 */

export const worldTimeouts: Timeouts = { connect: 200, hello: 150, ready: 150, drain: 60, terminateGrace: 40, stable: 50 };
export const heartbeatInterval = 40;
const token = 'model-token-5d1e';

export type SocketCall = 'normal' | 'ignore' | 'throw';
export type CrashKind = 'freshReconnect' | 'resumeReconnect' | 'socket' | 'reconnectDrain' | 'closingDrain';
export type ServerAct = (server: ChaosGateway) => void;

export interface Arrangement {
  stallHello?: boolean;
  stallReady?: boolean;
  failCreate?: boolean;
  /** how this generation's identify turn answers: at once (default), never, or with a refusal */
  turn?: 'hold' | 'deny';
  redirect?: 'silent' | 'refused';
  /** how the socket drained by this generation's reconnect answers close() and terminate() */
  drainClose?: SocketCall;
  drainTerminate?: SocketCall;
  crash?: Set<CrashKind>;
  /** server acts fired when this generation's reconnect actor enters a phase */
  reactions?: { phase: string; act: ServerAct; fired?: boolean }[];
  /** stop acknowledging heartbeats from this beat of the generation's socket on */
  dropAcksFromBeat?: number;
  /** while this generation's handshake waits for READY/RESUMED, the server keeps sending op 1 */
  chatterInHandshake?: boolean;
}

/** Records the ops a client socket sent, so the test can tell IDENTIFY from RESUME per socket. */
interface TrackedSocket {
  socket: WebSocket;
  generation: number;
  /** the gateway state when the socket was created: connecting.fresh or connecting.resume */
  createdIn: string;
  sentOps: number[];
}

export class World {
  readonly recorder = new CoverageRecorder();
  readonly arrangements = new Map<number, Arrangement>();
  readonly sockets: TrackedSocket[] = [];
  readonly violations: string[] = [];
  /** gateway state keys (`value#generation`) in order, consecutive repeats folded */
  readonly gatewayHistory: string[] = [];
  closingDrain: { close?: SocketCall; crash?: boolean } = {};
  maxLive = 0;
  /** contexts found to be plain data so far, of every actor in the system */
  contextsChecked = 0;
  server!: ChaosGateway;
  actor!: ReturnType<typeof createActor<typeof gatewayMachine>>;
  private silent!: net.Server;
  private silentSockets = new Set<net.Socket>();
  silentUrl = '';
  refusedUrl = '';
  private children = new Map<string, string[]>();
  private childKeys = new Map<string, string>();

  static async create(): Promise<World> {
    const world = new World();
    await world.boot();
    return world;
  }

  arrange(generation: number): Arrangement {
    let arrangement = this.arrangements.get(generation);
    if (!arrangement) this.arrangements.set(generation, (arrangement = {}));
    return arrangement;
  }

  generation(): number {
    return this.actor.getSnapshot().context.generation;
  }

  gatewayKey(): string {
    const snapshot = this.actor.getSnapshot();
    return `${valueKey(snapshot.value)}#${snapshot.context.generation}`;
  }

  /** the values a child actor (by id and generation, e.g. `resumeReconnect#2`) went through */
  childHistory(key: string): string[] {
    return this.children.get(key) ?? [];
  }

  private async boot() {
    this.server = await startChaosGateway({ heartbeatInterval, token });
    this.silent = net.createServer((socket) => this.silentSockets.add(socket));
    await new Promise<void>((resolve) => this.silent.listen(0, '127.0.0.1', resolve));
    this.silentUrl = `ws://127.0.0.1:${(this.silent.address() as net.AddressInfo).port}/?v=10&encoding=json`;
    this.refusedUrl = await refusedUrl();

    const socketActor = createSocketActor({
      createSocket: (url) => this.createSocket(url),
      protocol: discordProtocol({ token, intents: 1 }),
      onDispatch: () => {},
      onError: () => {},
      compression: testTransportCompression(),
    });
    const reconnectDrain = this.crashable(drainMachine, 'reconnectDrain');
    const identifyTurn = createIdentifyTurn({ beforeIdentify: () => this.identifyTurn() });
    const machine = gatewayMachine.provide({
      actors: {
        socket: this.crashable(socketActor, 'socket'),
        drain: this.crashable(drainMachine, 'closingDrain'),
        freshReconnect: this.crashable(
          freshReconnectMachine.provide({ actors: { drain: reconnectDrain, identifyTurn } }),
          'freshReconnect',
        ),
        resumeReconnect: this.crashable(resumeReconnectMachine.provide({ actors: { drain: reconnectDrain } }), 'resumeReconnect'),
      },
    });
    this.actor = createActor(machine, {
      input: {
        url: this.server.url,
        timeouts: worldTimeouts,
        backoff: { baseMs: 5, maxMs: 20, invalidSessionMinMs: 5, invalidSessionMaxMs: 10 },
      },
      inspect: (event) => this.inspect(event),
    });
    this.actor.subscribe({
      next: () => {
        const key = this.gatewayKey();
        if (this.gatewayHistory.at(-1) === key) return;
        this.gatewayHistory.push(key);
        // Sticky server faults end when the connection they were meant for does.
        if (key.startsWith('connecting')) this.server.dropAcks(false);
      },
      error: (error) => this.violations.push(`gateway actor errored: ${String(error)}`),
    });
    this.actor.start();
  }

  /**
   * Every actor of the system, after every step: its context is plain data, the same after a JSON
   * round trip, so a snapshot can be stored and read back. (Callback actors have no context.)
   */
  private checkPlainContext(actorId: string, snapshot: unknown) {
    if (!snapshot || typeof snapshot !== 'object' || !('context' in snapshot)) return;
    this.contextsChecked += 1;
    const problem = jsonRoundTripProblem(snapshot.context);
    if (problem) this.violations.push(`${actorId}: context ${problem}`);
  }

  /** The identify queue as this generation's arrangement wants it. */
  private identifyTurn(): Promise<void> {
    const turn = this.arrangements.get(this.generation())?.turn;
    if (turn === 'deny') return Promise.reject(new Error(`injected: identify turn denied (generation ${this.generation()})`));
    if (turn === 'hold') return new Promise<void>(() => {});
    return Promise.resolve();
  }

  private crashable<T extends AnyActorLogic>(logic: T, kind: CrashKind): T {
    const world = this;
    const wrapped = Object.create(logic) as T;
    wrapped.start = ((state, scope) => {
      const generation = world.generation();
      const armed = kind === 'closingDrain' ? world.closingDrain.crash : world.arrangements.get(generation)?.crash?.has(kind);
      if (armed) throw new Error(`injected crash of ${kind} (generation ${generation})`);
      logic.start?.(state, scope);
    }) as T['start'];
    return wrapped;
  }

  private inspect(event: InspectionEvent) {
    this.recorder.observe(event);
    const actorId = (event.actorRef as AnyActorRef).id;
    if (event.type === '@xstate.snapshot') this.checkPlainContext(actorId, event.snapshot);
    if (event.type === '@xstate.snapshot' && actorId !== this.actor?.id) {
      const snapshot = event.snapshot as { value?: unknown; context?: { generation?: number }; status?: string };
      if (snapshot.value === undefined) return;
      // A child is named by the generation it started in: its last snapshot can arrive after the
      // gateway has already moved on to the next generation.
      const sessionId = (event.actorRef as AnyActorRef).sessionId;
      const key = this.childKeys.get(sessionId) ?? `${actorId}#${snapshot.context?.generation ?? this.generation()}`;
      this.childKeys.set(sessionId, key);
      const generation = Number(key.split('#')[1]);
      const history = this.children.get(key) ?? [];
      const value = valueKey(snapshot.value);
      if (history.at(-1) !== value) history.push(value);
      this.children.set(key, history);
      if (actorId === 'freshReconnect' || actorId === 'resumeReconnect') {
        if (this.arrangements.get(generation)?.chatterInHandshake)
          this.chatter(value === 'handshake.identifying' || value === 'handshake.resuming');
        for (const reaction of this.arrangements.get(generation)?.reactions ?? []) {
          if (!reaction.fired && reaction.phase === value) {
            reaction.fired = true;
            reaction.act(this.server);
          }
        }
      }
    }
  }

  private createSocket(url: string): WebSocketLike {
    const generation = this.generation();
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status !== 'active' || ['stopped', 'failed', 'closing'].includes(valueKey(snapshot.value))) {
      this.violations.push(`socket created in ${valueKey(snapshot.value)}`);
    }
    const arrangement = this.arrangements.get(generation) ?? {};
    if (arrangement.failCreate) throw new Error(`injected: createSocket failed (generation ${generation})`);
    const live = this.sockets.filter((s) => s.socket.readyState !== WebSocket.CLOSED).length + 1;
    this.maxLive = Math.max(this.maxLive, live);
    if (live > 1) this.violations.push(`${live} sockets live at once (generation ${generation})`);
    if (arrangement.stallHello) this.server.stallHello(1);
    if (arrangement.stallReady) this.server.stallReady(1);
    const target = arrangement.redirect === 'silent' ? this.silentUrl : arrangement.redirect === 'refused' ? this.refusedUrl : url;
    const socket = new WebSocket(target, { perMessageDeflate: false });
    const tracked: TrackedSocket = { socket, generation, createdIn: valueKey(snapshot.value), sentOps: [] };
    this.sockets.push(tracked);
    return this.wrap(tracked);
  }

  /** The socket as the engine sees it: close()/terminate() obey the arrangement of the drain. */
  private wrap(tracked: TrackedSocket): WebSocketLike {
    const world = this;
    const behaviour = (call: 'close' | 'terminate'): SocketCall => {
      if (valueKey(world.actor.getSnapshot().value) === 'closing')
        return call === 'close' ? (world.closingDrain.close ?? 'normal') : 'normal';
      const arrangement = world.arrangements.get(world.generation());
      return (call === 'close' ? arrangement?.drainClose : arrangement?.drainTerminate) ?? 'normal';
    };
    return new Proxy(tracked.socket, {
      get(target, property) {
        if (property === 'close' || property === 'terminate') {
          return (...args: unknown[]) => {
            const mode = behaviour(property);
            if (mode === 'ignore') return;
            if (mode === 'throw') throw new Error(`injected: ${property}() threw`);
            (target[property] as (...a: unknown[]) => void)(...args);
          };
        }
        if (property === 'send') {
          return (data: string) => {
            let op = -1;
            try {
              op = (JSON.parse(data) as { op: number }).op;
            } catch {
              // not JSON: recorded as -1
            }
            tracked.sentOps.push(op);
            // Set before the beat goes out, so the server drops exactly its ACK and later ones.
            if (
              op === 1 &&
              world.arrangements.get(tracked.generation)?.dropAcksFromBeat === tracked.sentOps.filter((o) => o === 1).length
            ) {
              world.server.dropAcks(true);
            }
            target.send(data);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  private chatterTimer: NodeJS.Timeout | undefined;

  /** While on, the server sends a heartbeat request (op 1, a frame that is not an ACK) every 20 ms. */
  private chatter(on: boolean) {
    // A heartbeat request, through the stream when the connection is compressed.
    const compressed = testCompression() !== 'none';
    if (on && !this.chatterTimer) this.chatterTimer = setInterval(() => this.server.sendRaw('{"op":1,"d":null}', { compressed }), 20);
    if (!on && this.chatterTimer) {
      clearInterval(this.chatterTimer);
      this.chatterTimer = undefined;
    }
  }

  /** Sends a HELLO by hand to a connection whose HELLO was held back. */
  releaseHello(): void {
    this.server.sendRaw(JSON.stringify({ op: 10, d: { heartbeat_interval: heartbeatInterval } }));
  }

  /** Checks what must hold after every step of every path. */
  checkInvariants(): string[] {
    const problems = [...this.violations];
    const live = this.sockets.filter((s) => s.socket.readyState !== WebSocket.CLOSED && s.socket.readyState !== WebSocket.CLOSING);
    if (live.length > 1) problems.push(`${live.length} sockets open or opening`);
    for (const tracked of this.sockets) {
      const handshakes = tracked.sentOps.filter((op) => op === 2 || op === 6);
      if (tracked.createdIn === 'connecting.fresh' && handshakes.includes(6))
        problems.push(`RESUME sent on a fresh socket (generation ${tracked.generation})`);
      if (tracked.createdIn === 'connecting.resume' && handshakes.includes(2))
        problems.push(`IDENTIFY sent on a resume socket (generation ${tracked.generation})`);
      if (handshakes.length > 1) problems.push(`two handshakes on one socket (generation ${tracked.generation})`);
    }
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === 'done') {
      const leftover = Object.keys(snapshot.children ?? {});
      if (leftover.length > 0) problems.push(`children left after the end: ${leftover.join(', ')}`);
    }
    return problems;
  }

  async close(): Promise<void> {
    this.chatter(false);
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'stop' });
    const deadline = Date.now() + worldTimeouts.drain + worldTimeouts.terminateGrace + 500;
    while (this.actor.getSnapshot().status === 'active' && Date.now() < deadline) await sleep(2);
    if (this.actor.getSnapshot().status === 'active') this.violations.push('stop did not finish within drain + grace');
    this.actor.stop();
    for (const { socket } of this.sockets) socket.terminate();
    for (const socket of this.silentSockets) socket.destroy();
    await new Promise((resolve) => this.silent.close(resolve));
    await this.server.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback port with nothing listening: connecting to it is refused at once. */
async function refusedUrl(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `ws://127.0.0.1:${port}/?v=10&encoding=json`;
}
