import { and, assign, enqueueActions, fromCallback, fromPromise, not, setup, spawnChild } from 'xstate';
import type { GatewayStatus } from '../api/createGateway.ts';
import { fleetFatalCloseCodes } from '../core/recovery.ts';
import type { ShardEvent } from './shardActor.ts';
import type { ShardOrder, ShardPoolCommand } from './shardPool.ts';
import {
  allShardEntries,
  buildShardPages,
  draftShardPages,
  pageSizeFor,
  shardEntry,
  type ShardPages,
  type ShardPagesDraft,
} from './shardPages.ts';
import type { StoredSession } from './types.ts';

/** Where the fleet connects and how it is cut, once known (from GET /gateway/bot or the options). */
export interface FleetLayout {
  shardCount: number;
  /** the shards this manager runs: all of them, or the subset given (in the context: lowest first) */
  shardIds: number[];
  url: string;
  maxConcurrency: number;
}

export interface ShardManagerInput {
  /** the shard subset this process runs, when the options named one */
  shardIds?: readonly number[];
  /** shards spawned, and told to stop, per turn of the event loop (default `defaultShardBatchSize`) */
  batchSize?: number;
}

/** What the fleet shows of each shard; plain data, as in every statechart of this package. */
export interface ShardView {
  status: GatewayStatus;
  handshake: 'identify' | 'resume' | null;
  reason: string | null;
  /** the manager told it to connect */
  launched: boolean;
  /** it has a stored session to RESUME, so it connects at once, before its place in the start order */
  resumable: boolean;
  /**
   * every lower shard of its bucket has asked for its identify turn (or is ready, or ended): an
   * IDENTIFY of this one may ask for its turn now, so the queue sees each bucket in order
   */
  mayIdentify: boolean;
  /** it is waiting for its identify turn */
  waitingForTurn: boolean;
  /** it has asked for its turn, or got ready, or ended: the next shard of its bucket may start */
  progressed: boolean;
  stopped: boolean;
}

/** Why the fleet failed; `closeCode` when a shard's close refused the whole fleet (`fleetFatalCloseCodes`, beside the recovery table). */
export interface FleetFailure {
  reason: string;
  closeCode: number | null;
}

export interface ShardManagerContext {
  requestedShardIds: number[] | null;
  batchSize: number;
  layout: FleetLayout | null;
  /** every shard's view, by id, in pages (see shardPages.ts; `shardViews()` gives one record) */
  shards: ShardPages<ShardView>;
  /** each shard's successor in its bucket's start order (lowest id first), fixed with the layout */
  nextInBucket: Record<string, number>;
  /** stored sessions that match the shard count, read once before the shards start */
  sessions: Record<string, StoredSession>;
  /** shards spawned so far: the first this many of `layout.shardIds` */
  spawned: number;
  /** shards told to stop so far, in the same order */
  stopsSent: number;
  /** shards whose status is `ready` */
  readyCount: number;
  /** shards that have reported their end after a stop */
  stoppedCount: number;
  /** the first shard that failed */
  firstFailure: { shardId: number; reason: string | null } | null;
  keepSessions: boolean;
  /** the latest word from the identify queue, e.g. the daily budget being spent */
  identifyNotice: { shardId: number; code: string; retryInMs: number } | null;
  failure: FleetFailure | null;
}

export type ShardManagerEvent = { type: 'start' } | { type: 'stop'; keepSessions: boolean } | ShardEvent;

export type ShardManagerOutput = { status: 'stopped' } | { status: 'failed'; reason: string; closeCode?: number };

/**
 * Shards spawned, or told to stop, in one step. Making a shard makes its gateway (and may connect
 * it), stopping one closes its socket: about half a millisecond each, so a step of 25 holds the
 * event loop for about ten, and the shards already running read their sockets and beat their
 * hearts in between (bench/fleetLifecycle.ts).
 */
export const defaultShardBatchSize = 25;

const notProvided = (name: string) => () => {
  throw new Error(`the shard manager's ${name} actor was not provided: use createShardManager()`);
};

/** Every shard's view in one record, by shard id. */
export function shardViews(context: Pick<ShardManagerContext, 'shards'>): Record<string, ShardView> {
  return allShardEntries(context.shards);
}

const newShard = (resumable: boolean, mayIdentify: boolean): ShardView => ({
  status: 'idle',
  handshake: null,
  reason: null,
  launched: false,
  resumable,
  mayIdentify,
  waitingForTurn: false,
  progressed: false,
  stopped: false,
});

/** The shards' views and each bucket's start order, made once per layout. */
function startOrder(layout: FleetLayout, sessions: Record<string, StoredSession>) {
  const lastInBucket = new Map<number, number>();
  const nextInBucket: Record<string, number> = {};
  const entries: [number, ShardView][] = [];
  for (const id of layout.shardIds) {
    const bucket = id % layout.maxConcurrency;
    const previous = lastInBucket.get(bucket);
    if (previous !== undefined) nextInBucket[previous] = id;
    lastInBucket.set(bucket, id);
    // The lowest shard of each bucket starts the bucket.
    entries.push([id, newShard(sessions[id] !== undefined, previous === undefined)]);
  }
  return { shards: buildShardPages(entries, pageSizeFor(layout.shardIds.length)), nextInBucket };
}

/** What the shards are told after a step, in order. */
type Orders = ShardOrder[];

const tell = (orders: Orders): ShardPoolCommand => ({ type: 'tell', orders });

/** The shard has been spawned: a RESUME connects at once; an IDENTIFY when its place has come. */
function launchSpawned(draft: ShardPagesDraft<ShardView>, shardId: number, orders: Orders) {
  const view = draft.get(shardId)!;
  if (!view.resumable && !view.mayIdentify) return;
  draft.set(shardId, { ...view, launched: true });
  if (view.mayIdentify) orders.push({ shardId, command: { type: 'mayIdentify' } });
  orders.push({ shardId, command: { type: 'start' } });
}

/**
 * A shard progressed. If its bucket's turn was its own, the turn passes to the next shard of the
 * bucket (and on, past shards that got ready by RESUME before their turn came): an IDENTIFY there
 * may ask for its turn now, and a shard with nothing to RESUME connects. Each shard takes the turn
 * once, so a whole start passes it n times.
 */
function passTurn(context: ShardManagerContext, draft: ShardPagesDraft<ShardView>, shardId: number, orders: Orders) {
  const ids = context.layout!.shardIds;
  const firstUnspawned = context.spawned < ids.length ? ids[context.spawned]! : Infinity;
  let current = shardId;
  for (;;) {
    const view = draft.get(current)!;
    if (!view.mayIdentify || !view.progressed) return;
    const next = context.nextInBucket[current];
    if (next === undefined) return;
    const nextView = draft.get(next)!;
    if (nextView.mayIdentify) return;
    draft.set(next, { ...nextView, mayIdentify: true });
    // A shard not spawned yet is launched when it is (spawning goes in id order).
    if (next < firstUnspawned) {
      if (nextView.resumable) orders.push({ shardId: next, command: { type: 'mayIdentify' } });
      else launchSpawned(draft, next, orders);
    }
    current = next;
  }
}

type ShardStatusEvent = Extract<ShardEvent, { type: 'shard.status' }>;

/** The bookkeeping of a status change; while running, the turn passes on when the shard ended. */
function noteStatusOf(context: ShardManagerContext, event: ShardStatusEvent, running: boolean) {
  const draft = draftShardPages(context.shards);
  const view = draft.get(event.shardId);
  if (!view) return { update: {}, orders: [] };
  const ended = event.status === 'ready' || event.status === 'stopped' || event.status === 'failed';
  draft.set(event.shardId, {
    ...view,
    status: event.status,
    handshake: event.handshake,
    reason: event.reason,
    ...(ended ? { progressed: true, waitingForTurn: false } : {}),
  });
  const orders: Orders = [];
  if (running && ended && !view.progressed) passTurn(context, draft, event.shardId, orders);
  const readyCount = context.readyCount + (event.status === 'ready' ? 1 : 0) - (view.status === 'ready' ? 1 : 0);
  const firstFailure = context.firstFailure ?? (event.status === 'failed' ? { shardId: event.shardId, reason: event.reason } : null);
  return { update: { shards: draft.done(), readyCount, firstFailure }, orders };
}

/**
 * A fleet of shards in one process. It learns the layout (shard count, URL, concurrency), reads
 * the stored sessions, spawns one shard actor per shard (each owning its gateway), starts them in
 * Discord's order, and stops them all, keeping their sessions resumable when asked. Spawning and
 * stopping go in batches, one per turn of the event loop. Each shard's state, its place in the
 * start order and the queue's notices are in the context, for the inspector; dispatches never pass
 * through here.
 */
export const shardManagerMachine = setup({
  types: {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- declares the input type for XState
    input: {} as ShardManagerInput,
    context: {} as ShardManagerContext,
    events: {} as ShardManagerEvent,
    output: {} as ShardManagerOutput,
  },
  actors: {
    resolveLayout: fromPromise<FleetLayout, { shardIds: number[] | null }>(notProvided('resolveLayout')),
    loadSessions: fromPromise<Record<string, StoredSession>, FleetLayout>(notProvided('loadSessions')),
    /** every shard of the fleet (see shardPool.ts): spawned once, as `shards`, when the fleet starts running */
    shardPool: fromCallback<ShardPoolCommand, Record<string, never>>(notProvided('shardPool')),
    /** resolves on the next turn of the event loop, after the timers and I/O that were due */
    eventLoopTurn: fromPromise<void>(() => new Promise<void>((resolve) => setImmediate(resolve))),
  },
  guards: {
    everyShardSpawned: ({ context }) => context.spawned >= (context.layout?.shardIds.length ?? 0),
    everyStopSent: ({ context }) => context.stopsSent >= context.spawned,
    everySpawnedShardStopped: ({ context }) => context.stoppedCount >= context.spawned,
    fleetFailed: ({ context }) => context.failure !== null,
    closesTheFleet: ({ event }) =>
      event.type === 'shard.status' && event.status === 'failed' && event.closeCode !== null && fleetFatalCloseCodes.has(event.closeCode),
  },
  actions: {
    /** createShardManager's: ends every identify wait of the fleet at once and refuses new ones */
    haltIdentifies: () => {},
    spawnBatch: enqueueActions(({ context, enqueue }) => {
      const { layout } = context;
      if (!layout) return;
      const from = context.spawned;
      const to = Math.min(layout.shardIds.length, from + context.batchSize);
      const batch = layout.shardIds.slice(from, to);
      const draft = draftShardPages(context.shards);
      const orders: Orders = [];
      for (const shardId of batch) launchSpawned(draft, shardId, orders);
      const shards = batch.map((shardId) => ({
        shardId,
        shardCount: layout.shardCount,
        url: layout.url,
        session: context.sessions[shardId] ?? null,
      }));
      enqueue.assign({ spawned: to, shards: draft.done() });
      enqueue.sendTo('shards', { type: 'spawn', shards } satisfies ShardPoolCommand);
      if (orders.length > 0) enqueue.sendTo('shards', tell(orders));
    }),
    stopBatch: enqueueActions(({ context, enqueue }) => {
      const ids = context.layout?.shardIds ?? [];
      const to = Math.min(context.spawned, context.stopsSent + context.batchSize);
      const orders: Orders = [];
      for (let index = context.stopsSent; index < to; index++) {
        const shardId = ids[index]!;
        if (!shardEntry(context.shards, shardId)?.stopped) {
          orders.push({ shardId, command: { type: 'stop', keepSession: context.keepSessions } });
        }
      }
      enqueue.assign({ stopsSent: to });
      if (orders.length > 0) enqueue.sendTo('shards', tell(orders));
    }),
    noteStatus: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'shard.status') return;
      const { update, orders } = noteStatusOf(context, event, true);
      enqueue.assign(update);
      if (orders.length > 0) enqueue.sendTo('shards', tell(orders));
    }),
    noteStatusWhileStopping: assign(({ context, event }) =>
      event.type === 'shard.status' ? noteStatusOf(context, event, false).update : {},
    ),
    noteWaiting: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'shard.waiting') return;
      const draft = draftShardPages(context.shards);
      const view = draft.get(event.shardId);
      if (!view) return;
      draft.set(event.shardId, { ...view, waitingForTurn: true, progressed: true });
      const orders: Orders = [];
      if (!view.progressed) passTurn(context, draft, event.shardId, orders);
      enqueue.assign({ shards: draft.done() });
      if (orders.length > 0) enqueue.sendTo('shards', tell(orders));
    }),
    noteGranted: assign(({ context, event }) => {
      if (event.type !== 'shard.granted') return {};
      const draft = draftShardPages(context.shards);
      const view = draft.get(event.shardId);
      if (view) draft.set(event.shardId, { ...view, waitingForTurn: false });
      return { shards: draft.done() };
    }),
    noteNotice: assign(({ event }) =>
      event.type === 'shard.notice' ? { identifyNotice: { shardId: event.shardId, code: event.code, retryInMs: event.retryInMs } } : {},
    ),
    noteStopped: assign(({ context, event }) => {
      if (event.type !== 'shard.stopped') return {};
      const draft = draftShardPages(context.shards);
      const view = draft.get(event.shardId);
      if (!view || view.stopped) return {};
      draft.set(event.shardId, { ...view, stopped: true });
      return { shards: draft.done(), stoppedCount: context.stoppedCount + 1 };
    }),
    noteFleetFailure: assign(({ event }) =>
      event.type === 'shard.status'
        ? { failure: { reason: `shard ${event.shardId}: ${event.reason ?? 'closed'}`, closeCode: event.closeCode } }
        : {},
    ),
  },
}).createMachine({
  id: 'shardManager',
  context: ({ input }) => ({
    requestedShardIds: input.shardIds ? [...input.shardIds] : null,
    batchSize: input.batchSize ?? defaultShardBatchSize,
    layout: null,
    shards: buildShardPages<ShardView>([], pageSizeFor(0)),
    nextInBucket: {},
    sessions: {},
    spawned: 0,
    stopsSent: 0,
    readyCount: 0,
    stoppedCount: 0,
    firstFailure: null,
    keepSessions: false,
    identifyNotice: null,
    failure: null,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: { start: 'resolving', stop: 'stopped' },
    },
    resolving: {
      invoke: {
        id: 'resolveLayout',
        src: 'resolveLayout',
        input: ({ context }) => ({ shardIds: context.requestedShardIds }),
        onDone: {
          target: 'loadingSessions',
          actions: assign(({ event }) => {
            const layout = { ...event.output, shardIds: [...event.output.shardIds].sort((a, b) => a - b) };
            return { layout, ...startOrder(layout, {}) };
          }),
        },
        onError: {
          target: 'failed',
          actions: assign({
            failure: ({ event }) => ({
              reason: `the fleet's layout is unknown: ${String((event.error as Error)?.message ?? event.error)}`,
              closeCode: null,
            }),
          }),
        },
      },
      on: { stop: 'stopped' },
    },
    loadingSessions: {
      invoke: {
        id: 'loadSessions',
        src: 'loadSessions',
        input: ({ context }) => context.layout!,
        onDone: {
          target: 'running',
          actions: assign(({ context, event }) => ({ sessions: event.output, ...startOrder(context.layout!, event.output) })),
        },
        // Sessions that cannot be read cost IDENTIFYs, not the fleet: start without them.
        onError: { target: 'running' },
      },
      on: { stop: 'stopped' },
    },
    running: {
      entry: spawnChild('shardPool', { id: 'shards', input: {} }),
      initial: 'spawning',
      states: {
        spawning: {
          entry: 'spawnBatch',
          always: { guard: 'everyShardSpawned', target: 'spawned' },
          invoke: { id: 'nextSpawnBatch', src: 'eventLoopTurn', onDone: { target: 'spawning', reenter: true } },
        },
        spawned: {},
      },
      on: {
        'shard.status': [
          {
            guard: 'closesTheFleet',
            target: 'stopping',
            actions: ['noteStatusWhileStopping', 'noteFleetFailure'],
          },
          { actions: 'noteStatus' },
        ],
        'shard.waiting': { actions: 'noteWaiting' },
        'shard.granted': { actions: 'noteGranted' },
        'shard.notice': { actions: 'noteNotice' },
        stop: { target: 'stopping', actions: assign({ keepSessions: ({ event }) => event.keepSessions }) },
      },
    },
    stopping: {
      // No IDENTIFY once the fleet is stopping: the shards told to stop in a later batch would
      // otherwise spend turns (and the daily budget) meanwhile, and after a refusal of the whole
      // fleet every one of them would be refused too.
      entry: 'haltIdentifies',
      initial: 'telling',
      states: {
        telling: {
          entry: 'stopBatch',
          always: { guard: 'everyStopSent', target: 'told' },
          invoke: { id: 'nextStopBatch', src: 'eventLoopTurn', onDone: { target: 'telling', reenter: true } },
        },
        told: {},
      },
      always: [
        { guard: and(['everySpawnedShardStopped', 'fleetFailed']), target: 'failed' },
        { guard: and(['everySpawnedShardStopped', not('fleetFailed')]), target: 'stopped' },
      ],
      on: {
        'shard.stopped': { actions: 'noteStopped' },
        'shard.status': { actions: 'noteStatusWhileStopping' },
        stop: {},
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }): ShardManagerOutput =>
    context.failure === null
      ? { status: 'stopped' }
      : {
          status: 'failed',
          reason: context.failure.reason,
          ...(context.failure.closeCode === null ? {} : { closeCode: context.failure.closeCode }),
        },
});
