import { assign, enqueueActions, fromCallback, fromPromise, setup } from 'xstate';
import type { GatewayStatus } from '../api/createGateway.ts';
import type { ShardCommand, ShardEvent, ShardInput } from './shardActor.ts';
import type { StoredSession } from './types.ts';

/** Where the fleet connects and how it is cut, once known (from GET /gateway/bot or the options). */
export interface FleetLayout {
  shardCount: number;
  /** the shards this manager runs: all of them, or the subset given */
  shardIds: number[];
  url: string;
  maxConcurrency: number;
}

export interface ShardManagerInput {
  /** the shard subset this process runs, when the options named one */
  shardIds?: readonly number[];
}

/** What the fleet shows of each shard; plain data, as in every statechart of this package. */
export interface ShardView {
  status: GatewayStatus;
  handshake: 'identify' | 'resume' | null;
  reason: string | null;
  /** the manager told it to connect */
  launched: boolean;
  /** it has a stored session to RESUME, so it takes no place in the start order */
  resumable: boolean;
  /** it is waiting for its identify turn */
  waitingForTurn: boolean;
  /** it has asked for its turn, or got ready, or ended: the next shard of its bucket may start */
  progressed: boolean;
  stopped: boolean;
}

export interface ShardManagerContext {
  requestedShardIds: number[] | null;
  layout: FleetLayout | null;
  shards: Record<string, ShardView>;
  /** stored sessions that match the shard count, read once before the shards start */
  sessions: Record<string, StoredSession>;
  keepSessions: boolean;
  /** the latest word from the identify queue, e.g. the daily budget being spent */
  identifyNotice: { shardId: number; code: string; retryInMs: number } | null;
  failure: string | null;
}

export type ShardManagerEvent = { type: 'start' } | { type: 'stop'; keepSessions: boolean } | ShardEvent;

export type ShardManagerOutput = { status: 'stopped' } | { status: 'failed'; reason: string };

const notProvided = (name: string) => () => {
  throw new Error(`the shard manager's ${name} actor was not provided: use createShardManager()`);
};

const bucketOf = (shardId: number, layout: FleetLayout) => shardId % layout.maxConcurrency;

function updateShard(context: ShardManagerContext, shardId: number, change: Partial<ShardView>) {
  const current = context.shards[shardId];
  if (!current) return context.shards;
  return { ...context.shards, [shardId]: { ...current, ...change } };
}

/**
 * The shards to start now. A shard with a stored session resumes at once: a RESUME costs nothing
 * and never waits. The others start in bucket order, lowest id first, each only once the shard
 * before it in its bucket has asked for its identify turn, so the queue sees them in order.
 */
export function shardsToLaunch(context: Pick<ShardManagerContext, 'layout' | 'shards'>): number[] {
  const { layout } = context;
  if (!layout) return [];
  const launch: number[] = [];
  const blockedBuckets = new Set<number>();
  const pendingByBucket = new Map<number, number>();
  for (const id of layout.shardIds) {
    const shard = context.shards[id];
    if (!shard) continue;
    const bucket = bucketOf(id, layout);
    if (shard.resumable) {
      if (!shard.launched) launch.push(id);
    } else if (shard.launched && !shard.progressed) {
      blockedBuckets.add(bucket);
    } else if (!shard.launched) {
      const lowest = pendingByBucket.get(bucket);
      if (lowest === undefined || id < lowest) pendingByBucket.set(bucket, id);
    }
  }
  for (const [bucket, id] of pendingByBucket) if (!blockedBuckets.has(bucket)) launch.push(id);
  return launch.sort((a, b) => a - b);
}

const newShard = (resumable: boolean): ShardView => ({
  status: 'idle',
  handshake: null,
  reason: null,
  launched: false,
  resumable,
  waitingForTurn: false,
  progressed: false,
  stopped: false,
});

/**
 * A fleet of shards in one process. It learns the layout (shard count, URL, concurrency), reads
 * the stored sessions, spawns one shard actor per shard (each owning its gateway), starts them in
 * Discord's order, and stops them all, keeping their sessions resumable when asked. Each shard's
 * state, its place in the identify queue and the queue's notices are in the context, for the
 * inspector; dispatches never pass through here.
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
    shard: fromCallback<ShardCommand, ShardInput>(notProvided('shard')),
  },
  guards: {
    allShardsStopped: ({ context }) => Object.values(context.shards).every((shard) => shard.stopped),
  },
  actions: {
    spawnShards: enqueueActions(({ context, enqueue }) => {
      const { layout } = context;
      if (!layout) return;
      for (const shardId of layout.shardIds) {
        enqueue.spawnChild('shard', {
          id: `shard-${shardId}`,
          input: { shardId, shardCount: layout.shardCount, url: layout.url, session: context.sessions[shardId] ?? null },
        });
      }
    }),
    launchShards: enqueueActions(({ context, enqueue }) => {
      const launch = shardsToLaunch(context);
      if (launch.length === 0) return;
      const shards = { ...context.shards };
      for (const id of launch) shards[id] = { ...shards[id]!, launched: true };
      enqueue.assign({ shards });
      for (const id of launch) enqueue.sendTo(`shard-${id}`, { type: 'start' } satisfies ShardCommand);
    }),
    stopShards: enqueueActions(({ context, enqueue }) => {
      for (const [id, shard] of Object.entries(context.shards)) {
        if (!shard.stopped) enqueue.sendTo(`shard-${id}`, { type: 'stop', keepSession: context.keepSessions } satisfies ShardCommand);
      }
    }),
    noteStatus: assign(({ context, event }) => {
      if (event.type !== 'shard.status') return {};
      const ended = event.status === 'ready' || event.status === 'stopped' || event.status === 'failed';
      return {
        shards: updateShard(context, event.shardId, {
          status: event.status,
          handshake: event.handshake,
          reason: event.reason,
          ...(ended ? { progressed: true, waitingForTurn: false } : {}),
        }),
      };
    }),
    noteWaiting: assign(({ context, event }) =>
      event.type === 'shard.waiting' ? { shards: updateShard(context, event.shardId, { waitingForTurn: true, progressed: true }) } : {},
    ),
    noteGranted: assign(({ context, event }) =>
      event.type === 'shard.granted' ? { shards: updateShard(context, event.shardId, { waitingForTurn: false }) } : {},
    ),
    noteNotice: assign(({ event }) =>
      event.type === 'shard.notice' ? { identifyNotice: { shardId: event.shardId, code: event.code, retryInMs: event.retryInMs } } : {},
    ),
    noteStopped: assign(({ context, event }) =>
      event.type === 'shard.stopped' ? { shards: updateShard(context, event.shardId, { stopped: true }) } : {},
    ),
  },
}).createMachine({
  id: 'shardManager',
  context: ({ input }) => ({
    requestedShardIds: input.shardIds ? [...input.shardIds] : null,
    layout: null,
    shards: {},
    sessions: {},
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
          actions: assign({
            layout: ({ event }) => event.output,
            shards: ({ event }) => Object.fromEntries(event.output.shardIds.map((id) => [id, newShard(false)])),
          }),
        },
        onError: {
          target: 'failed',
          actions: assign({
            failure: ({ event }) => `the fleet's layout is unknown: ${String((event.error as Error)?.message ?? event.error)}`,
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
          actions: assign({
            sessions: ({ event }) => event.output,
            shards: ({ context, event }) =>
              Object.fromEntries(Object.keys(context.shards).map((id) => [id, newShard(event.output[id] !== undefined)])),
          }),
        },
        // Sessions that cannot be read cost IDENTIFYs, not the fleet: start without them.
        onError: { target: 'running' },
      },
      on: { stop: 'stopped' },
    },
    running: {
      entry: ['spawnShards', 'launchShards'],
      on: {
        'shard.status': { actions: ['noteStatus', 'launchShards'] },
        'shard.waiting': { actions: ['noteWaiting', 'launchShards'] },
        'shard.granted': { actions: 'noteGranted' },
        'shard.notice': { actions: 'noteNotice' },
        stop: { target: 'stopping', actions: assign({ keepSessions: ({ event }) => event.keepSessions }) },
      },
    },
    stopping: {
      entry: 'stopShards',
      always: { guard: 'allShardsStopped', target: 'stopped' },
      on: {
        'shard.stopped': { actions: 'noteStopped' },
        'shard.status': { actions: 'noteStatus' },
        stop: {},
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }): ShardManagerOutput =>
    context.failure === null ? { status: 'stopped' } : { status: 'failed', reason: context.failure },
});
