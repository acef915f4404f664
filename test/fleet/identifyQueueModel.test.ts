import { createActor, initialTransition, transition, type AnyMachineSnapshot, type EventObject, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { afterAll, describe, expect, it } from 'vitest';
import {
  identifyQueueMachine,
  type IdentifyQueueContext,
  type IdentifyQueueEmitted,
  type IdentifyQueueEvent,
  type IdentifyQueueInput,
} from '../../src/fleet/identifyQueueMachine.ts';
import { CoverageRecorder, requireFullCoverage } from '../model/coverage.ts';
import { coveringPaths, valueKey, type TraversalSpec } from '../model/modelPaths.ts';
import { eventTypesOf } from '../model/plans.ts';
import { ManualClock } from '../support/manualClock.ts';

/**
 * Model-based tests of the identify queue statechart. xstate/graph walks the machine with the
 * events the real world can produce in each state (waits, cancels, close, and whichever timer is
 * due next); paths that take every transition, and a path to every distinct state, are each played
 * on a real actor under a manual clock (timers fire only when the clock reaches them), and the
 * actor's state and whole context must equal the model's after every step. A state or transition
 * that no played path exercised fails the suite.
 */

type Snapshot = SnapshotFrom<typeof identifyQueueMachine>;
type ModelEvent = IdentifyQueueEvent | TimerEvent;

const input: IdentifyQueueInput = {
  maxConcurrency: 2,
  windowMs: 100,
  // The server's first reset is anywhere from 200 to 250, then every 300.
  budget: { remaining: 1, total: 2, resetAfterMs: 250, resetIntervalMs: 300, readLatencyMs: 50 },
  startedAt: 0,
};
const maxWaiters = 2;
/** a reservation's hold: longer than a window, so a held bucket outlasts a plain one */
const holdMs = 150;
const periodEvent = 'xstate.after.periodMayEnd.identifyQueue.running';
const resetEvent = 'xstate.after.budgetReset.identifyQueue.running.resetting';
type TimerEvent = { type: typeof periodEvent } | { type: typeof resetEvent };

/**
 * The timer that fires next, as the clock runs them: the earliest due; on a tie the one set first,
 * and of two set at one moment the statechart's own (set as `running` or `resetting` is entered,
 * before a grant there sets its bucket's).
 */
function nextTimer(snapshot: AnyMachineSnapshot): { event: ModelEvent; due: number } {
  const context = snapshot.context as IdentifyQueueContext;
  const timers = context.cooling.map((entry): { event: ModelEvent; due: number; setAt: number; own: boolean } => ({
    event: { type: 'bucket.cooled', bucket: entry.bucket, at: entry.until },
    due: entry.until,
    setAt: entry.until - input.windowMs - (entry.held ? holdMs : 0),
    own: false,
  }));
  if (snapshot.matches({ running: 'resetting' })) {
    timers.push({ event: { type: resetEvent }, due: context.resetAt, setAt: context.resetAt - context.readLatencyMs, own: true });
  } else {
    const enteredAt = context.period === 0 ? input.startedAt : context.resetAt - input.budget.resetIntervalMs;
    timers.push({ event: { type: periodEvent }, due: context.resetAt - context.readLatencyMs, setAt: enteredAt, own: true });
  }
  const [next] = timers.sort((a, b) => a.due - b.due || a.setAt - b.setAt || Number(b.own) - Number(a.own));
  return next!;
}

function modelEvents(snapshot: AnyMachineSnapshot): EventObject[] {
  if (snapshot.status !== 'active') return [];
  const context = snapshot.context as IdentifyQueueContext;
  const { event: timer, due } = nextTimer(snapshot);
  // A timer already due fires before anything else can happen.
  if (due <= context.now) return [timer];
  const events: ModelEvent[] = [];
  for (const type of eventTypesOf(snapshot)) {
    if (type === 'wait') {
      if (context.waiters.length >= maxWaiters) continue;
      // The smallest free id, so ids stay few and the model finite (the machine only needs them unique).
      let waiterId = 1;
      // A held reservation still answers to its id, so that id is not free yet either.
      const taken = (id: number) =>
        context.waiters.some((w) => w.waiterId === id) || context.cooling.some((e) => e.held && e.waiterId === id);
      while (taken(waiterId)) waiterId += 1;
      for (const shardId of [0, 1]) events.push({ type: 'wait', waiterId, shardId, at: context.now });
      // Reservations from one bucket only: enough for every transition, and the model stays small.
      events.push({ type: 'wait', waiterId, shardId: 0, at: context.now, holdMs });
    } else if (type === 'cancel') {
      for (const { waiterId } of context.waiters) events.push({ type: 'cancel', waiterId, at: context.now });
    } else if (type === 'turn.sent' || type === 'turn.released') {
      // Only the holder of a reservation can say either, and only while it is held.
      for (const { waiterId } of context.cooling.filter((entry) => entry.held)) events.push({ type, waiterId, at: context.now });
    } else if (type === 'close') events.push({ type: 'close' });
    else if (type !== 'bucket.cooled' && type !== resetEvent && type !== periodEvent) {
      throw new Error(`no model event for "${type}": teach test/fleet/identifyQueueModel.test.ts how it happens`);
    }
  }
  return [...events, timer] as EventObject[];
}

/** States that differ only in absolute time are the same state: everything is kept relative to `now`. */
function serializeState(snapshot: AnyMachineSnapshot): string {
  const c = snapshot.context as IdentifyQueueContext;
  return [
    valueKey(snapshot.value),
    `r${c.remaining}`,
    `w${c.waiters.map((w) => `${w.waiterId}:${w.bucket}${w.holdMs === undefined ? '' : 'h'}`).join(',')}`,
    `c${c.cooling.map((e) => `${e.bucket}@${e.until - c.now}${e.held ? `h${e.waiterId}` : ''}${e.period === c.period ? '' : e.period > c.period ? 'next' : 'old'}`).join(',')}`,
    `n${c.chargedToNext}`,
    `t${c.resetAt - c.now}`,
  ].join('|');
}

const spec: TraversalSpec = { machine: identifyQueueMachine, input, events: modelEvents, serializeState };

/** An event of a path, moved to the time of the state it is played in (paths share states across times). */
function rebase(event: EventObject, context: IdentifyQueueContext): ModelEvent {
  const e = event as ModelEvent;
  if (e.type === 'wait' || e.type === 'cancel' || e.type === 'turn.sent' || e.type === 'turn.released') return { ...e, at: context.now };
  if (e.type === 'bucket.cooled') return { ...e, at: context.cooling.find((entry) => entry.bucket === e.bucket)!.until };
  return e;
}

const describeEvents = (events: readonly EventObject[]) =>
  events
    .map((e) =>
      e.type === resetEvent
        ? 'budgetReset'
        : e.type === periodEvent
          ? 'periodMayEnd'
          : 'shardId' in e
            ? `${'holdMs' in e ? 'reserve' : 'wait'}(${String(e.shardId)})`
            : e.type,
    )
    .join(' → ') || '(start)';

const total = new CoverageRecorder();

type Grant = Extract<IdentifyQueueEmitted, { type: 'granted' }>;

/**
 * Discord's rules and the queue's promises, checked on what the real actor emitted at each step:
 * one IDENTIFY per bucket per window (a plain grant is used at once; a reservation when it says
 * `turn.sent`, or at some moment of its hold if it never says; a released one not at all), never
 * more IDENTIFYs than the budget in a budget period of the server's, wherever in the uncertainty
 * its first reset falls, the longest waiter of a bucket first, and nothing for a cancelled wait.
 */
function brokenRules(steps: { event: ModelEvent; grants: Grant[]; at: number }[]): string[] {
  const problems: string[] = [];
  const { resetAfterMs, resetIntervalMs, remaining, total, readLatencyMs = 0 } = input.budget;
  /** per bucket: the earliest time its next IDENTIFY may go out, as far as the grants so far tell */
  const freeAt = new Map<number, number>();
  /** when each IDENTIFY reached the server: at one moment, or at some moment from `from` to `to` */
  const identifies: { from: number; to: number }[] = [];
  const reservations = new Map<number, { bucket: number; grantedAt: number }>();
  const open: { waiterId: number; bucket: number; order: number; reserves: boolean }[] = [];
  let order = 0;
  const neverTold = (held: { bucket: number; grantedAt: number }) => {
    identifies.push({ from: held.grantedAt, to: held.grantedAt + holdMs });
    freeAt.set(held.bucket, held.grantedAt + holdMs + input.windowMs);
  };
  for (const { event, grants, at } of steps) {
    if (event.type === 'wait') {
      const reserves = event.holdMs !== undefined;
      open.push({ waiterId: event.waiterId, bucket: event.shardId % input.maxConcurrency, order: order++, reserves });
    }
    if (event.type === 'cancel') open.splice(open.findIndex((w) => w.waiterId === event.waiterId) >>> 0, 1);
    if (event.type === 'turn.sent' || event.type === 'turn.released') {
      const held = reservations.get(event.waiterId);
      reservations.delete(event.waiterId);
      if (held && event.type === 'turn.sent') {
        identifies.push({ from: at, to: at });
        freeAt.set(held.bucket, at + input.windowMs);
      }
      if (held && event.type === 'turn.released') freeAt.delete(held.bucket);
    }
    for (const grant of grants) {
      const bucket = grant.shardId % input.maxConcurrency;
      for (const [waiterId, held] of reservations) {
        if (held.bucket !== bucket) continue;
        // Never told: its IDENTIFY may have gone out at any moment of its hold.
        reservations.delete(waiterId);
        neverTold(held);
      }
      const free = freeAt.get(bucket);
      if (free !== undefined && grant.at < free) problems.push(`bucket ${bucket} granted at ${grant.at}, before ${free}`);
      const index = open.findIndex((w) => w.waiterId === grant.waiterId);
      if (index === -1) {
        problems.push(`waiter ${grant.waiterId} granted without an open wait`);
        continue;
      }
      const [served] = open.splice(index, 1);
      if (served!.reserves) reservations.set(grant.waiterId, { bucket, grantedAt: grant.at });
      else {
        identifies.push({ from: grant.at, to: grant.at });
        freeAt.set(bucket, grant.at + input.windowMs);
      }
      const passedOver = open.find((w) => w.bucket === served!.bucket && w.order < served!.order);
      if (passedOver) problems.push(`wait #${served!.order} served before the older wait #${passedOver.order} of bucket ${bucket}`);
    }
  }
  for (const held of reservations.values()) neverTold(held);
  // Every time in the model is a whole ms, so each whole ms the first reset may fall on is every case there is.
  for (let firstReset = resetAfterMs - readLatencyMs; firstReset <= resetAfterMs; firstReset++) {
    const periodOf = (at: number) => (at < firstReset ? 0 : 1 + Math.floor((at - firstReset) / resetIntervalMs));
    const spent = new Map<number, number>();
    // One that may have landed in either of two periods counts in both: each must have room for it.
    for (const { from, to } of identifies) for (let p = periodOf(from); p <= periodOf(to); p++) spent.set(p, (spent.get(p) ?? 0) + 1);
    for (const [period, count] of spent) {
      if (count > (period === 0 ? remaining : total)) {
        problems.push(`budget period ${period} overspent (${count}) if the server's first reset came at ${firstReset}`);
      }
    }
  }
  return problems;
}

/** Plays events on the model and on a real actor side by side, comparing after every step. */
function play(events: readonly EventObject[]) {
  const clock = new ManualClock();
  const recorder = new CoverageRecorder();
  const actor = createActor(identifyQueueMachine, { input, clock, inspect: recorder.observe });
  const emitted: IdentifyQueueEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  let [model] = initialTransition(identifyQueueMachine, input);
  const steps: { event: ModelEvent; grants: Grant[]; at: number }[] = [];
  let granted = 0;
  try {
    for (const [index, original] of events.entries()) {
      const event = rebase(original, model.context);
      const where = `step ${index + 1} (${event.type}) of ${describeEvents(events)}`;
      expect(clock.now(), where).toBe(model.context.now);
      const [next] = transition(identifyQueueMachine, model, event as IdentifyQueueEvent);
      // A reservation given back takes its grant back out of the count.
      if (event.type === 'turn.released' && model.context.cooling.some((e) => e.held && e.waiterId === event.waiterId)) granted -= 1;
      if (event.type === resetEvent || event.type === periodEvent || event.type === 'bucket.cooled') {
        // Exactly one timer, the next due: timers due together are separate steps of the model.
        const before = actor.getSnapshot();
        clock.runUntil(() => actor.getSnapshot() !== before, input.budget.resetIntervalMs);
        expect(clock.now(), where).toBe(nextTimer(model).due);
      } else actor.send(event);
      steps.push({ event, grants: emitted.splice(0).filter((e): e is Grant => e.type === 'granted'), at: clock.now() });
      granted += steps.at(-1)!.grants.length;
      const snapshot: Snapshot = actor.getSnapshot();
      expect(valueKey(snapshot.value), where).toBe(valueKey(next.value));
      expect(snapshot.context, where).toEqual(next.context);
      model = next;
    }
    // What the actor told its waiters agrees with the model: as many grants as the budget paid for,
    // less the reservations given back.
    expect(granted).toBe(model.context.granted);
    expect(brokenRules(steps), describeEvents(events)).toEqual([]);
  } finally {
    actor.stop();
    total.merge(recorder);
  }
}

describe('identify queue statechart (model-based)', () => {
  const { paths, unreachable } = coveringPaths(spec);

  it('the model reaches every transition', () => {
    expect(unreachable).toEqual([]);
  });

  const covering = paths.map((path) => path.steps.map((step) => step.event));
  it.each(covering.map((events) => [describeEvents(events), events] as const))('%s', (_name, events) => play(events));

  it('every distinct state of the model (budget, waiters, cooling buckets, time to reset) comes out on the real actor as modelled', () => {
    const everyState = getShortestPaths(identifyQueueMachine, {
      input,
      events: modelEvents as never,
      serializeState: (snapshot) => serializeState(snapshot as AnyMachineSnapshot),
    });
    expect(everyState.length).toBeGreaterThan(50);
    console.log(`identifyQueue model: ${everyState.length} distinct states played`);
    for (const statePath of everyState) play(statePath.steps.slice(1).map((step) => step.event));
    // Thousands of paths, each replayed from the start on a real actor: seconds alone, more beside other suites.
  }, 120_000);
});

afterAll(() => requireFullCoverage('identifyQueue model', identifyQueueMachine, total));
