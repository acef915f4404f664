import { afterAll, describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, setup, type AnyEventObject, type AnyMachineSnapshot, type EventObject } from 'xstate';
import { createShardPool, type ShardPoolCommand } from '../../src/fleet/shardPool.ts';
import { shardManagerMachine, shardViews, type FleetLayout, type ShardManagerContext } from '../../src/fleet/shardManagerMachine.ts';
import type { StoredSession } from '../../src/fleet/types.ts';
import { CoverageRecorder, requireFullCoverage } from '../model/coverage.ts';
import { coveringPaths, describePath, valueKey, type ModelPath } from '../model/modelPaths.ts';

/**
 * Model-based test of the shard manager's statechart: paths generated from the machine with
 * xstate/graph, each played on a running manager whose layout, session store, shard pool and
 * event-loop turns are test doubles (through `provide()`), checking the state and the shards'
 * flags after every step and the commands each shard was given. Every state and transition must
 * be exercised. Batches of two shards, so that spawning and stopping three take two turns each.
 */

const layout: FleetLayout = { shardCount: 3, shardIds: [0, 1, 2], url: 'ws://127.0.0.1:1/', maxConcurrency: 2 };
const storedSession: StoredSession = { sessionId: 'stored', sequence: 5, resumeUrl: null, shardCount: 3 };
const sessionsVariants: Record<string, StoredSession>[] = [{}, { 2: storedSession }];
const input = { batchSize: 2 };

const flags = (context: ShardManagerContext) =>
  Object.entries(shardViews(context))
    .map(
      ([id, s]) =>
        `${id}${s.launched ? 'L' : ''}${s.mayIdentify ? 'M' : ''}${s.progressed ? 'P' : ''}${s.waitingForTurn ? 'W' : ''}${s.stopped ? 'S' : ''}${s.resumable ? 'R' : ''}:${s.status}`,
    )
    .join(',') + `|spawned ${context.spawned}, stops ${context.stopsSent}`;

const status = (shardId: number, value: string, closeCode: number | null = null) => ({
  type: 'shard.status',
  shardId,
  status: value,
  handshake: value === 'ready' ? 'identify' : null,
  reason: closeCode === null ? null : `closed with ${closeCode}`,
  closeCode,
});

function events(snapshot: AnyMachineSnapshot): AnyEventObject[] {
  const context = snapshot.context as ShardManagerContext;
  const value = valueKey(snapshot.value);
  const views = shardViews(context);
  const spawned = layout.shardIds.slice(0, context.spawned).filter((id) => views[id]);
  const view = (id: number) => views[id]!;
  if (value === 'idle') return [{ type: 'start' }, { type: 'stop', keepSessions: false }];
  if (value === 'resolving')
    return [
      { type: 'xstate.done.actor.resolveLayout', output: layout, actorId: 'resolveLayout' },
      { type: 'xstate.error.actor.resolveLayout', error: new Error('no layout') },
      { type: 'stop', keepSessions: false },
    ];
  if (value === 'loadingSessions')
    return [
      ...sessionsVariants.map((output) => ({ type: 'xstate.done.actor.loadSessions', output, actorId: 'loadSessions' }) as EventObject),
      { type: 'xstate.error.actor.loadSessions', error: new Error('store down') },
      { type: 'stop', keepSessions: false },
    ];
  if (value.startsWith('running')) {
    const launched = spawned.filter((id) => view(id).launched);
    return [
      ...(value === 'running.spawning' ? [{ type: 'xstate.done.actor.nextSpawnBatch', output: undefined, actorId: 'nextSpawnBatch' }] : []),
      // Only a shard whose place has come asks for its turn.
      ...launched.filter((id) => view(id).mayIdentify && !view(id).progressed).map((shardId) => ({ type: 'shard.waiting', shardId })),
      ...launched.filter((id) => view(id).waitingForTurn).map((shardId) => ({ type: 'shard.granted', shardId })),
      ...launched.filter((id) => view(id).status !== 'ready').map((shardId) => status(shardId, 'ready')),
      // A close that refuses the whole fleet, heard by the lowest shard that connected.
      ...launched.slice(0, 1).map((shardId) => status(shardId, 'failed', 4004)),
      ...(spawned.length > 0 ? [{ type: 'shard.notice', shardId: 0, code: 'IDENTIFY_BUDGET_EXHAUSTED', retryInMs: 1000 }] : []),
      { type: 'stop', keepSessions: true },
    ];
  }
  if (value.startsWith('stopping')) {
    const told = layout.shardIds.slice(0, context.stopsSent).filter((id) => !view(id).stopped);
    return [
      ...(value === 'stopping.telling' ? [{ type: 'xstate.done.actor.nextStopBatch', output: undefined, actorId: 'nextStopBatch' }] : []),
      ...told.map((shardId) => ({ type: 'shard.stopped', shardId, sessionKept: true })),
      ...told.filter((id) => view(id).status !== 'stopped').map((shardId) => status(shardId, 'stopped')),
      { type: 'stop', keepSessions: true },
    ];
  }
  return [];
}

const spec = {
  machine: shardManagerMachine,
  input,
  events,
  serializeState: (snapshot: AnyMachineSnapshot) => `${valueKey(snapshot.value)}|${flags(snapshot.context as ShardManagerContext)}`,
};

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A running manager whose I/O the test plays: each step's event is produced as the real part would. */
function playground(managerInput: { batchSize?: number } = input) {
  const layouts: Deferred<FleetLayout>[] = [];
  const loads: Deferred<Record<string, StoredSession>>[] = [];
  const turns: (() => void)[] = [];
  const commands: string[] = [];
  const spawnedShards: number[] = [];
  let halted = 0;
  const recorder = new CoverageRecorder();
  const machine = shardManagerMachine.provide({
    actors: {
      resolveLayout: fromPromise(() => new Promise<FleetLayout>((resolve, reject) => layouts.push({ resolve, reject }))),
      loadSessions: fromPromise(() => new Promise<Record<string, StoredSession>>((resolve, reject) => loads.push({ resolve, reject }))),
      eventLoopTurn: fromPromise(() => new Promise<void>((resolve) => turns.push(resolve))),
      shardPool: fromCallback<ShardPoolCommand, Record<string, never>>(({ receive }) => {
        receive((command) => {
          if (command.type === 'spawn') spawnedShards.push(...command.shards.map((shard) => shard.shardId));
          else
            for (const { shardId, command: order } of command.orders)
              commands.push(`${shardId}:${order.type}${order.type === 'stop' ? `:${order.keepSession}` : ''}`);
        });
      }),
    },
    actions: { haltIdentifies: () => void (halted += 1) },
  });
  const actor = createActor(machine, { input: managerInput, inspect: recorder.observe });
  actor.start();
  return {
    actor,
    layouts,
    loads,
    turns,
    commands,
    spawnedShards,
    recorder,
    get halted() {
      return halted;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const total = new CoverageRecorder();

async function play(path: ModelPath) {
  const world = playground();
  try {
    for (const [index, step] of path.steps.entries()) {
      const event = step.event as EventObject & { output?: never; error?: unknown };
      if (event.type === 'xstate.done.actor.resolveLayout') world.layouts.at(-1)!.resolve(event.output!);
      else if (event.type === 'xstate.error.actor.resolveLayout') world.layouts.at(-1)!.reject(event.error);
      else if (event.type === 'xstate.done.actor.loadSessions') world.loads.at(-1)!.resolve(event.output!);
      else if (event.type === 'xstate.error.actor.loadSessions') world.loads.at(-1)!.reject(event.error);
      else if (event.type === 'xstate.done.actor.nextSpawnBatch' || event.type === 'xstate.done.actor.nextStopBatch') world.turns.at(-1)!();
      else world.actor.send(event as never);
      await settle();
      const snapshot = world.actor.getSnapshot();
      const where = `step ${index + 1} (${event.type}) of ${describePath(path)}`;
      expect(valueKey(snapshot.value), where).toBe(valueKey(step.to.value));
      expect(flags(snapshot.context), where).toBe(flags(step.to.context as ShardManagerContext));
    }
    // Every shard the manager launched got exactly one start, and was made first, once.
    const context = world.actor.getSnapshot().context;
    expect(world.spawnedShards).toEqual(layout.shardIds.slice(0, context.spawned));
    for (const [id, shard] of Object.entries(shardViews(context))) {
      expect(world.commands.filter((c) => c === `${id}:start`)).toHaveLength(shard.launched ? 1 : 0);
      expect(world.commands.filter((c) => c.startsWith(`${id}:stop`)).length).toBeLessThanOrEqual(1);
    }
  } finally {
    world.actor.stop();
    total.merge(world.recorder);
  }
}

describe('shard manager statechart paths', () => {
  const { paths, unreachable } = coveringPaths(spec);

  it('reach every transition', () => {
    expect(unreachable).toEqual([]);
  });

  it.each(paths.map((path) => [describePath(path), path] as const))('%s', async (_name, path) => {
    await play(path);
  });
});

describe('start order', () => {
  /** A manager that has learnt `fleet` and read `sessions`, with every shard spawned in one batch. */
  async function started(fleet: FleetLayout, sessions: Record<string, StoredSession>) {
    const world = playground({});
    world.actor.send({ type: 'start' });
    world.layouts[0]!.resolve(fleet);
    await settle();
    world.loads[0]!.resolve(sessions);
    await settle();
    return world;
  }
  const fourShards = { ...layout, shardIds: [0, 1, 2, 3], shardCount: 4 };
  const session = { ...storedSession, shardCount: 4 };

  it('launches the stored-session shard at once and one shard per bucket, lowest first, the next after it asked for its turn', async () => {
    const world = await started(layout, { 2: storedSession });
    // Bucket 0 holds shards 0 and 2; shard 2 resumes, so it connects at once beside shard 0, but
    // may IDENTIFY only once shard 0 has asked for its turn; bucket 1 starts shard 1.
    expect(world.commands).toEqual(['0:mayIdentify', '0:start', '1:mayIdentify', '1:start', '2:start']);
    world.actor.send({ type: 'shard.waiting', shardId: 0 });
    expect(world.commands.slice(5)).toEqual(['2:mayIdentify']);
    world.actor.stop();
  });

  it('holds the next shard of a bucket until the one before asked for its turn', async () => {
    const world = await started(fourShards, {});
    expect(world.commands).toEqual(['0:mayIdentify', '0:start', '1:mayIdentify', '1:start']);
    world.actor.send({ type: 'shard.waiting', shardId: 1 });
    expect(world.commands.slice(4)).toEqual(['3:mayIdentify', '3:start']);
    world.actor.send(status(0, 'ready') as never);
    expect(world.commands.slice(6)).toEqual(['2:mayIdentify', '2:start']);
    world.actor.stop();
  });

  it('a refused RESUME takes its place in its bucket: the shards after it wait for its turn, and one that resumed passes the turn on', async () => {
    // One bucket: 0 and 2 have sessions, 1 and 3 do not.
    const world = await started({ ...fourShards, maxConcurrency: 1 }, { 0: session, 2: session });
    expect(world.commands).toEqual(['0:mayIdentify', '0:start', '2:start']);
    // Shard 2 resumes; shard 1 still waits for shard 0, whose RESUME is pending.
    world.actor.send({ ...status(2, 'ready'), handshake: 'resume' } as never);
    expect(world.commands).toHaveLength(3);
    // Shard 0's RESUME is refused: it asks for its turn to IDENTIFY, and shard 1 may start.
    world.actor.send({ type: 'shard.waiting', shardId: 0 });
    expect(world.commands.slice(3)).toEqual(['1:mayIdentify', '1:start']);
    // Once shard 1 has asked, the turn passes shard 2 (ready already) and reaches shard 3.
    world.actor.send({ type: 'shard.waiting', shardId: 1 });
    expect(world.commands.slice(5)).toEqual(['2:mayIdentify', '3:mayIdentify', '3:start']);
    world.actor.stop();
  });
});

describe('closes that refuse the whole fleet', () => {
  it.each([4004, 4012, 4013, 4014])(
    '%i: every identify stops, every shard is told to stop, the fleet fails with the reason',
    async (code) => {
      const world = await started4();
      world.actor.send(status(0, 'failed', code) as never);
      expect(world.halted).toBe(1);
      expect(valueKey(world.actor.getSnapshot().value)).toMatch(/^stopping/);
      expect(world.commands.filter((c) => c.endsWith(':stop:false'))).toEqual([
        '0:stop:false',
        '1:stop:false',
        '2:stop:false',
        '3:stop:false',
      ]);
      for (const shardId of [0, 1, 2, 3]) world.actor.send({ type: 'shard.stopped', shardId, sessionKept: false });
      expect(world.actor.getSnapshot().output).toEqual({ status: 'failed', reason: `shard 0: closed with ${code}`, closeCode: code });
    },
  );

  it.each([4010, 4011])('%i concerns its shard only: the fleet goes on, and the turn passes on', async (code) => {
    const world = await started4();
    world.actor.send(status(0, 'failed', code) as never);
    expect(world.halted).toBe(0);
    expect(valueKey(world.actor.getSnapshot().value)).toBe('running.spawned');
    expect(world.actor.getSnapshot().context.firstFailure).toEqual({ shardId: 0, reason: `closed with ${code}` });
    expect(world.commands.slice(4)).toEqual(['2:mayIdentify', '2:start']);
    world.actor.stop();
  });

  async function started4() {
    const world = playground({});
    world.actor.send({ type: 'start' });
    world.layouts[0]!.resolve({ ...layout, shardIds: [0, 1, 2, 3], shardCount: 4 });
    await settle();
    world.loads[0]!.resolve({});
    await settle();
    return world;
  }
});

describe('batches', () => {
  it('spawns, and stops, one batch per turn of the event loop', async () => {
    const world = playground({ batchSize: 2 });
    world.actor.send({ type: 'start' });
    world.layouts[0]!.resolve({ ...layout, shardIds: [4, 0, 3, 1, 2], shardCount: 5, maxConcurrency: 5 });
    await settle();
    world.loads[0]!.resolve({});
    await settle();
    expect(world.spawnedShards).toEqual([0, 1]);
    world.turns.at(-1)!();
    await settle();
    expect(world.spawnedShards).toEqual([0, 1, 2, 3]);
    world.turns.at(-1)!();
    await settle();
    expect(world.spawnedShards).toEqual([0, 1, 2, 3, 4]);
    expect(valueKey(world.actor.getSnapshot().value)).toBe('running.spawned');

    world.actor.send({ type: 'stop', keepSessions: false });
    // No shard may IDENTIFY from now on, the ones told to stop in a later batch included.
    expect(world.halted).toBe(1);
    const stops = () => world.commands.filter((c) => c.includes(':stop'));
    expect(stops()).toEqual(['0:stop:false', '1:stop:false']);
    world.turns.at(-1)!();
    await settle();
    world.turns.at(-1)!();
    await settle();
    expect(stops()).toHaveLength(5);
    for (const shardId of [0, 1, 2, 3, 4]) world.actor.send({ type: 'shard.stopped', shardId, sessionKept: false });
    expect(world.actor.getSnapshot().output).toEqual({ status: 'stopped' });
  });
});

describe('the shard pool', () => {
  it('a shard that cannot be made is reported failed and still answers its stop; the others run', () => {
    const events: unknown[] = [];
    const ended: number[] = [];
    const pool = createShardPool(({ input, receive, sendBack }) => {
      if (input.shardId === 1) throw new Error('bad session');
      receive((command) => {
        if (command.type === 'stop') sendBack({ type: 'shard.stopped', shardId: input.shardId, sessionKept: false });
      });
      return () => ended.push(input.shardId);
    });
    const parent = createActor(
      setup({ actors: { pool } }).createMachine({
        invoke: { id: 'pool', src: 'pool', input: {} },
        on: { '*': { actions: ({ event }) => events.push(event) } },
      }),
    );
    parent.start();
    const child = parent.getSnapshot().children.pool!;
    const shard = (shardId: number) => ({ shardId, shardCount: 3, url: 'ws://127.0.0.1:1/', session: null });
    child.send({ type: 'spawn', shards: [shard(0), shard(1), shard(2)] });
    expect(events).toEqual([
      {
        type: 'shard.status',
        shardId: 1,
        status: 'failed',
        handshake: null,
        reason: 'the shard could not be made: bad session',
        closeCode: null,
      },
    ]);
    const stop = { type: 'stop', keepSession: false } as const;
    child.send({ type: 'tell', orders: [0, 1, 2].map((shardId) => ({ shardId, command: stop })) });
    expect(events.slice(1)).toEqual([0, 1, 2].map((shardId) => ({ type: 'shard.stopped', shardId, sessionKept: false })));
    parent.stop();
    expect(ended).toEqual([0, 2]);
  });
});

afterAll(() => requireFullCoverage('shardManager model', shardManagerMachine, total));
