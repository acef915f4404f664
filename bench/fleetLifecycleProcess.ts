import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createActor, fromCallback, fromPromise, type Actor } from 'xstate';
import type { ShardPoolCommand } from '../src/fleet/shardPool.ts';
import {
  createShardManager,
  memoryIdentifyQueue,
  shardManagerMachine,
  type FleetLayout,
  type ShardManager,
  type WebSocketLike,
} from '../src/index.ts';
import { benchToken } from './contenders/fleet.ts';
import { serve } from './lib/ipc.ts';

/**
 * One fleet in a process of its own, for bench/fleetLifecycle.ts: `start` times start() to every
 * shard READY, `stop` times stop() to resolved, and each reports the longest the event loop was
 * held meanwhile (perf_hooks' event-loop delay, whose timer fires every millisecond when it can).
 *
 * - `real`: createShardManager, `ws` sockets to the chaos gateway in its own process;
 * - `in-process`: createShardManager with real shards and gateways, each on a WebSocketLike that
 *   plays the gateway's part in this process (no network), for fleets too large for real sockets
 *   on a small machine;
 * - `manager`: the manager's statechart alone (`shardManagerMachine.provide`), its shard pool a
 *   fake whose shards ask for their turn, get it and are READY a turn of the event loop after
 *   their start, and stopped a turn after their stop: what the manager itself costs.
 *
 * Every shard is its own bucket and the queue has no window, so the time is the manager's and the
 * shards', not Discord's pacing.
 */

const heartbeatIntervalMs = 41_250;
const inProcessUrl = 'wss://in-process.invalid/?v=10&encoding=json';

type Listener = (...args: never[]) => void;

/** The gateway's side of a socket, in this process: HELLO, READY for IDENTIFY, RESUMED, heartbeat ACKs. */
class InProcessSocket implements WebSocketLike {
  readyState = 0;
  readonly #listeners = new Map<string, Listener[]>();
  #seq = 0;

  constructor() {
    setImmediate(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.#emit('open');
      this.#push({ op: 10, d: { heartbeat_interval: heartbeatIntervalMs } });
    });
  }

  send(data: string, done?: (error?: Error) => void): void {
    const frame = JSON.parse(data) as { op: number; d: { shard?: [number, number] } };
    if (frame.op === 2) {
      const shard = frame.d.shard?.[0] ?? 0;
      this.#push({ op: 0, t: 'READY', s: ++this.#seq, d: { v: 10, session_id: `session-${shard}`, resume_gateway_url: null, guilds: [] } });
    } else if (frame.op === 6) this.#push({ op: 0, t: 'RESUMED', s: ++this.#seq, d: {} });
    else if (frame.op === 1) this.#push({ op: 11 });
    if (done) queueMicrotask(() => done());
  }

  close(code = 1005): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    setImmediate(() => {
      this.readyState = 3;
      this.#emit('close', code, Buffer.alloc(0));
    });
  }

  terminate(): void {
    this.close(1006);
  }

  on(event: string, listener: Listener): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.#listeners.set(
      event,
      (this.#listeners.get(event) ?? []).filter((entry) => entry !== listener),
    );
    return this;
  }

  #push(frame: unknown): void {
    const data = Buffer.from(JSON.stringify(frame));
    setImmediate(() => {
      if (this.readyState === 1) this.#emit('message', data, false);
    });
  }

  #emit(event: string, ...args: unknown[]): void {
    for (const listener of this.#listeners.get(event) ?? []) (listener as (...values: unknown[]) => void)(...args);
  }
}

export type LifecycleMode = 'real' | 'in-process' | 'manager';

export interface LifecycleCase {
  mode: LifecycleMode;
  shards: number;
  /** the chaos gateway's URL, for `real` */
  url?: string;
}

export interface Timing {
  ms: number;
  /** CPU time of this process meanwhile (user + system): what a loaded machine moves least */
  cpuMs: number;
  /** the longest event-loop delay seen meanwhile */
  longestBlockMs: number;
  /** garbage-collector pauses meanwhile, in all: part of the blocks, and not the manager's doing */
  gcMs: number;
  /** the heap in use at the end, after a full collection */
  heapMiB: number;
}

/** The manager's statechart with a shard pool that answers for its shards, a turn later each. */
function managerAlone(shards: number) {
  const layout: FleetLayout = {
    shardCount: shards,
    shardIds: Array.from({ length: shards }, (_, id) => id),
    url: inProcessUrl,
    maxConcurrency: shards,
  };
  const machine = shardManagerMachine.provide({
    actors: {
      resolveLayout: fromPromise(() => Promise.resolve(layout)),
      loadSessions: fromPromise(() => Promise.resolve({})),
      shardPool: fromCallback<ShardPoolCommand, Record<string, never>>(({ sendBack, receive }) => {
        receive((command) => {
          if (command.type !== 'tell') return;
          for (const { shardId, command: order } of command.orders) {
            if (order.type === 'start') {
              setImmediate(() => {
                sendBack({ type: 'shard.status', shardId, status: 'connecting', handshake: null, reason: null, closeCode: null });
                sendBack({ type: 'shard.waiting', shardId });
                sendBack({ type: 'shard.granted', shardId });
                sendBack({ type: 'shard.status', shardId, status: 'ready', handshake: 'identify', reason: null, closeCode: null });
              });
            } else if (order.type === 'stop') {
              setImmediate(() => {
                sendBack({ type: 'shard.status', shardId, status: 'stopped', handshake: null, reason: null, closeCode: null });
                sendBack({ type: 'shard.stopped', shardId, sessionKept: false });
              });
            }
          }
        });
      }),
    },
  });
  const actor = createActor(machine, { input: {} });
  actor.start();
  return actor;
}

function whenManager(actor: Actor<typeof shardManagerMachine>, done: (snapshot: ReturnType<typeof actor.getSnapshot>) => boolean) {
  return new Promise<void>((resolve) => {
    const subscription = actor.subscribe((snapshot) => {
      if (!done(snapshot)) return;
      subscription.unsubscribe();
      resolve();
    });
  });
}

let fleet: ShardManager | undefined;
let alone: Actor<typeof shardManagerMachine> | undefined;
let queue: ReturnType<typeof memoryIdentifyQueue> | undefined;

async function timed(run: () => Promise<unknown>): Promise<Timing> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  delay.enable();
  // The histogram measures from its first tick: a block inside the call itself must come after one.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  await run();
  const ms = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  // The histogram learns of a block when its timer next fires: let it, if the last step was one.
  await new Promise((resolve) => setTimeout(resolve, 20));
  delay.disable();
  gc.disconnect();
  (globalThis as { gc?: () => void }).gc?.();
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    longestBlockMs: delay.max / 1e6,
    gcMs,
    heapMiB: process.memoryUsage().heapUsed / 2 ** 20,
  };
}

const handlers = {
  async start({ mode, shards, url }: LifecycleCase): Promise<Timing> {
    if (mode === 'manager') {
      const actor = managerAlone(shards);
      alone = actor;
      return timed(() => {
        const ready = whenManager(actor, (snapshot) => snapshot.context.readyCount === shards);
        actor.send({ type: 'start' });
        return ready;
      });
    }
    if (mode === 'real' && !url) throw new Error('real sockets need the chaos gateway: pass its url');
    queue = memoryIdentifyQueue({ maxConcurrency: shards, windowMs: 0, budget: { remaining: 1_000_000, resetAfterMs: 86_400_000 } });
    const manager = createShardManager({
      token: benchToken,
      intents: 513,
      shardCount: shards,
      url: mode === 'real' ? url! : inProcessUrl,
      identifyQueue: queue,
      timeouts: { hello: 120_000, ready: 120_000, connect: 120_000 },
      ...(mode === 'in-process' ? { createSocket: () => new InProcessSocket() } : {}),
    });
    fleet = manager;
    return timed(() => manager.start());
  },
  async stop(): Promise<Timing> {
    if (alone) {
      const actor = alone;
      alone = undefined;
      return timed(() => {
        const stopped = whenManager(actor, (snapshot) => snapshot.status === 'done');
        actor.send({ type: 'stop', keepSessions: false });
        return stopped;
      });
    }
    const manager = fleet;
    if (!manager) throw new Error('no fleet: call start first');
    const timing = await timed(() => manager.stop());
    queue?.close();
    fleet = undefined;
    return timing;
  },
};

export type LifecycleApi = typeof handlers;

serve(handlers, async () => {
  alone?.stop();
  await fleet?.stop();
  queue?.close();
});
