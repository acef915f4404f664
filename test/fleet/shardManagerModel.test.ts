import { afterAll, describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, type AnyEventObject, type AnyMachineSnapshot, type EventObject } from 'xstate';
import type { ShardCommand, ShardInput } from '../../src/fleet/shardActor.ts';
import { shardManagerMachine, type FleetLayout, type ShardManagerContext } from '../../src/fleet/shardManagerMachine.ts';
import type { StoredSession } from '../../src/fleet/types.ts';
import { CoverageRecorder, requireFullCoverage } from '../model/coverage.ts';
import { coveringPaths, describePath, valueKey, type ModelPath } from '../model/modelPaths.ts';

/**
 * Model-based test of the shard manager's statechart: paths generated from the machine with
 * xstate/graph, each played on a running manager whose layout, session store and shards are test
 * doubles (through `provide()`), checking the state and the shards' flags after every step and the
 * commands each shard was given. Every state and transition must be exercised.
 */

const layout: FleetLayout = { shardCount: 3, shardIds: [0, 1, 2], url: 'ws://127.0.0.1:1/', maxConcurrency: 2 };
const storedSession: StoredSession = { sessionId: 'stored', sequence: 5, resumeUrl: null, shardCount: 3 };
const sessionsVariants: Record<string, StoredSession>[] = [{}, { 2: storedSession }];

const flags = (context: ShardManagerContext) =>
  Object.entries(context.shards)
    .map(
      ([id, s]) =>
        `${id}${s.launched ? 'L' : ''}${s.progressed ? 'P' : ''}${s.waitingForTurn ? 'W' : ''}${s.stopped ? 'S' : ''}${s.resumable ? 'R' : ''}:${s.status}`,
    )
    .join(',');

function events(snapshot: AnyMachineSnapshot): AnyEventObject[] {
  const context = snapshot.context as ShardManagerContext;
  const value = valueKey(snapshot.value);
  const shardIds = Object.keys(context.shards).map(Number);
  switch (value) {
    case 'idle':
      return [{ type: 'start' }, { type: 'stop', keepSessions: false }];
    case 'resolving':
      return [
        { type: 'xstate.done.actor.resolveLayout', output: layout, actorId: 'resolveLayout' },
        { type: 'xstate.error.actor.resolveLayout', error: new Error('no layout') },
        { type: 'stop', keepSessions: false },
      ];
    case 'loadingSessions':
      return [
        ...sessionsVariants.map((output) => ({ type: 'xstate.done.actor.loadSessions', output, actorId: 'loadSessions' }) as EventObject),
        { type: 'xstate.error.actor.loadSessions', error: new Error('store down') },
        { type: 'stop', keepSessions: false },
      ];
    case 'running':
      return [
        ...shardIds
          .filter((id) => context.shards[id]!.launched && !context.shards[id]!.progressed)
          .map((shardId) => ({ type: 'shard.waiting', shardId })),
        ...shardIds.filter((id) => context.shards[id]!.waitingForTurn).map((shardId) => ({ type: 'shard.granted', shardId })),
        ...shardIds
          .filter((id) => context.shards[id]!.launched && context.shards[id]!.status !== 'ready')
          .map((shardId) => ({ type: 'shard.status', shardId, status: 'ready', handshake: 'identify', reason: null })),
        ...(shardIds.length > 0 ? [{ type: 'shard.notice', shardId: 0, code: 'IDENTIFY_BUDGET_EXHAUSTED', retryInMs: 1000 }] : []),
        { type: 'stop', keepSessions: true },
      ];
    case 'stopping':
      return [
        ...shardIds.filter((id) => !context.shards[id]!.stopped).map((shardId) => ({ type: 'shard.stopped', shardId, sessionKept: true })),
        ...shardIds
          .filter((id) => !context.shards[id]!.stopped && context.shards[id]!.status !== 'stopped')
          .map((shardId) => ({ type: 'shard.status', shardId, status: 'stopped', handshake: null, reason: null })),
        { type: 'stop', keepSessions: true },
      ];
    default:
      return [];
  }
}

const spec = {
  machine: shardManagerMachine,
  input: {},
  events,
  serializeState: (snapshot: AnyMachineSnapshot) => `${valueKey(snapshot.value)}|${flags(snapshot.context as ShardManagerContext)}`,
};

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A running manager whose I/O the test plays: each step's event is produced as the real part would. */
function playground() {
  const layouts: Deferred<FleetLayout>[] = [];
  const loads: Deferred<Record<string, StoredSession>>[] = [];
  const commands: string[] = [];
  const recorder = new CoverageRecorder();
  const machine = shardManagerMachine.provide({
    actors: {
      resolveLayout: fromPromise(() => new Promise<FleetLayout>((resolve, reject) => layouts.push({ resolve, reject }))),
      loadSessions: fromPromise(() => new Promise<Record<string, StoredSession>>((resolve, reject) => loads.push({ resolve, reject }))),
      shard: fromCallback<ShardCommand, ShardInput>(({ input, receive }) => {
        receive((command) => commands.push(`${input.shardId}:${command.type}${command.type === 'stop' ? `:${command.keepSession}` : ''}`));
      }),
    },
  });
  const actor = createActor(machine, { input: {}, inspect: recorder.observe });
  actor.start();
  return { actor, layouts, loads, commands, recorder };
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
      else world.actor.send(event as never);
      await settle();
      const snapshot = world.actor.getSnapshot();
      const where = `step ${index + 1} (${event.type}) of ${describePath(path)}`;
      expect(valueKey(snapshot.value), where).toBe(valueKey(step.to.value));
      expect(flags(snapshot.context), where).toBe(flags(step.to.context as ShardManagerContext));
    }
    // Every shard the manager launched got exactly one start; every shard of a stop got one stop.
    const context = world.actor.getSnapshot().context;
    for (const [id, shard] of Object.entries(context.shards)) {
      expect(world.commands.filter((c) => c === `${id}:start`)).toHaveLength(shard.launched ? 1 : 0);
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
  it('launches the stored-session shard at once and one shard per bucket, lowest first, the next after it asked for its turn', async () => {
    const world = playground();
    world.actor.send({ type: 'start' });
    world.layouts[0]!.resolve(layout);
    await settle();
    world.loads[0]!.resolve({ 2: storedSession });
    await settle();
    // Bucket 0 holds shards 0 and 2; shard 2 resumes, so it starts at once beside shard 0; bucket 1 starts shard 1.
    expect(world.commands).toEqual(['0:start', '1:start', '2:start']);
    world.actor.stop();
  });

  it('holds the next shard of a bucket until the one before asked for its turn', async () => {
    const world = playground();
    world.actor.send({ type: 'start' });
    world.layouts[0]!.resolve({ ...layout, shardIds: [0, 1, 2, 3], shardCount: 4 });
    await settle();
    world.loads[0]!.resolve({});
    await settle();
    expect(world.commands).toEqual(['0:start', '1:start']);
    world.actor.send({ type: 'shard.waiting', shardId: 1 });
    expect(world.commands).toEqual(['0:start', '1:start', '3:start']);
    world.actor.send({ type: 'shard.status', shardId: 0, status: 'ready', handshake: 'identify', reason: null });
    expect(world.commands).toEqual(['0:start', '1:start', '3:start', '2:start']);
    world.actor.stop();
  });
});

afterAll(() => requireFullCoverage('shardManager model', shardManagerMachine, total));
