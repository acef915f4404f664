import { assign, enqueueActions, setup } from 'xstate';
import type { IdentifyNotice } from './types.ts';

/**
 * The in-process identify queue as a statechart, so a shard manager can spawn it and the inspector
 * shows the budget left, who waits, and which buckets are cooling down.
 *
 * Discord's rules: one IDENTIFY per bucket (`shardId % maxConcurrency`) per window, and at most the
 * daily budget in total. Waiters are served in arrival order (so within a bucket the longest waiter
 * always goes first, and buckets start in the order shards asked). A grant spends one from the
 * budget and cools its bucket for one window; when the budget is spent, everyone waiting hears when
 * it resets, and at the reset it refills to `total`.
 *
 * Time lives in the statechart's own timers (the named delays `window` and `budgetReset`), so a
 * simulated clock drives it; `now` in the context is the latest time the machine has seen (each
 * event carries it), which keeps every action a pure function of context and event.
 */

/**
 * Every duration here is waited for on one timer, so each must be at most the longest timer
 * (`identifyQueueInput` checks that, and the rest); times are of one monotonic clock, the one
 * that drives the timers.
 */
export interface IdentifyQueueInput {
  maxConcurrency: number;
  windowMs: number;
  budget: {
    remaining: number;
    /** what the budget refills to at each reset */
    total: number;
    resetAfterMs: number;
    /** time between resets after the first one (Discord: 24 h); at least 1 ms */
    resetIntervalMs: number;
  };
  /** the clock's time when the queue starts */
  startedAt: number;
}

export interface IdentifyWaiter {
  waiterId: number;
  shardId: number;
  bucket: number;
  /** when the wait began */
  since: number;
}

export interface CoolingBucket {
  bucket: number;
  /** when the bucket may grant again */
  until: number;
}

export interface IdentifyQueueContext {
  maxConcurrency: number;
  windowMs: number;
  total: number;
  resetIntervalMs: number;
  /** IDENTIFYs left until the next reset */
  remaining: number;
  resetAt: number;
  now: number;
  /** in arrival order */
  waiters: IdentifyWaiter[];
  /** in the order their cool-down began */
  cooling: CoolingBucket[];
  /** grants since the queue started */
  granted: number;
}

export type IdentifyQueueEvent =
  | { type: 'wait'; waiterId: number; shardId: number; at: number }
  | { type: 'cancel'; waiterId: number; at: number }
  | { type: 'bucket.cooled'; bucket: number; at: number }
  | { type: 'close' };

export type IdentifyQueueEmitted =
  | { type: 'granted'; waiterId: number; shardId: number; at: number }
  | { type: 'notice'; waiterId: number; shardId: number; notice: IdentifyNotice }
  | { type: 'closed'; waiterIds: number[] };

/** Which waiters can be served now: oldest first, one per free bucket, while the budget lasts. */
export function selectGrants(context: IdentifyQueueContext): { grants: IdentifyWaiter[]; rest: IdentifyWaiter[] } {
  let remaining = context.remaining;
  const busy = new Set(context.cooling.map((entry) => entry.bucket));
  const grants: IdentifyWaiter[] = [];
  const rest: IdentifyWaiter[] = [];
  for (const waiter of context.waiters) {
    if (remaining > 0 && !busy.has(waiter.bucket)) {
      grants.push(waiter);
      busy.add(waiter.bucket);
      remaining -= 1;
    } else rest.push(waiter);
  }
  return { grants, rest };
}

const seen = (context: IdentifyQueueContext, at: number) => Math.max(context.now, at);

const exhaustedNotice = (context: IdentifyQueueContext): IdentifyNotice => ({
  code: 'IDENTIFY_BUDGET_EXHAUSTED',
  retryAfterMs: Math.max(0, context.resetAt - context.now),
});

export const identifyQueueMachine = setup({
  types: {
    input: {} as IdentifyQueueInput,
    context: {} as IdentifyQueueContext,
    events: {} as IdentifyQueueEvent,
    emitted: {} as IdentifyQueueEmitted,
  },
  delays: {
    window: ({ context }) => context.windowMs,
    budgetReset: ({ context }) => Math.max(0, context.resetAt - context.now),
  },
  guards: {
    budgetSpent: ({ context }) => context.remaining <= 0,
  },
  actions: {
    addWaiter: assign(({ context, event }) => {
      if (event.type !== 'wait') return {};
      const waiter = { waiterId: event.waiterId, shardId: event.shardId, bucket: event.shardId % context.maxConcurrency, since: event.at };
      return { now: seen(context, event.at), waiters: [...context.waiters, waiter] };
    }),
    removeWaiter: assign(({ context, event }) => {
      if (event.type !== 'cancel') return {};
      return { now: seen(context, event.at), waiters: context.waiters.filter((waiter) => waiter.waiterId !== event.waiterId) };
    }),
    reopenBucket: assign(({ context, event }) => {
      if (event.type !== 'bucket.cooled') return {};
      return { now: seen(context, event.at), cooling: context.cooling.filter((entry) => entry.bucket !== event.bucket) };
    }),
    refillBudget: assign(({ context }) => ({
      now: Math.max(context.now, context.resetAt),
      remaining: context.total,
      resetAt: context.resetAt + context.resetIntervalMs,
    })),
    grantReady: enqueueActions(({ context, enqueue }) => {
      const { grants, rest } = selectGrants(context);
      if (grants.length === 0) return;
      const until = context.now + context.windowMs;
      enqueue.assign({
        waiters: rest,
        remaining: context.remaining - grants.length,
        granted: context.granted + grants.length,
        cooling: [...context.cooling, ...grants.map(({ bucket }) => ({ bucket, until }))],
      });
      for (const { waiterId, shardId, bucket } of grants) {
        enqueue.emit({ type: 'granted', waiterId, shardId, at: context.now });
        enqueue.raise({ type: 'bucket.cooled', bucket, at: until }, { delay: 'window', id: `cooling.${bucket}` });
      }
    }),
    reportExhaustedToAll: enqueueActions(({ context, enqueue }) => {
      const notice = exhaustedNotice(context);
      for (const { waiterId, shardId } of context.waiters) enqueue.emit({ type: 'notice', waiterId, shardId, notice });
    }),
    reportExhaustedToNewcomer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wait') return;
      enqueue.emit({ type: 'notice', waiterId: event.waiterId, shardId: event.shardId, notice: exhaustedNotice(context) });
    }),
    releaseWaiters: enqueueActions(({ context, enqueue }) => {
      enqueue.emit({ type: 'closed', waiterIds: context.waiters.map((waiter) => waiter.waiterId) });
      enqueue.assign({ waiters: [] });
    }),
  },
}).createMachine({
  id: 'identifyQueue',
  context: ({ input }) => ({
    maxConcurrency: input.maxConcurrency,
    windowMs: input.windowMs,
    total: input.budget.total,
    resetIntervalMs: input.budget.resetIntervalMs,
    remaining: input.budget.remaining,
    resetAt: input.startedAt + input.budget.resetAfterMs,
    now: input.startedAt,
    waiters: [],
    cooling: [],
    granted: 0,
  }),
  initial: 'running',
  states: {
    running: {
      initial: 'serving',
      // Re-entering `running` restarts this timer for the next reset and serves whoever waited.
      after: { budgetReset: { target: 'running', reenter: true, actions: 'refillBudget' } },
      on: {
        cancel: { actions: 'removeWaiter' },
        close: { target: 'closed', actions: 'releaseWaiters' },
      },
      states: {
        serving: {
          entry: 'grantReady',
          always: { guard: 'budgetSpent', target: 'exhausted' },
          on: {
            wait: { actions: ['addWaiter', 'grantReady'] },
            'bucket.cooled': { actions: ['reopenBucket', 'grantReady'] },
          },
        },
        exhausted: {
          entry: 'reportExhaustedToAll',
          on: {
            wait: { actions: ['addWaiter', 'reportExhaustedToNewcomer'] },
            'bucket.cooled': { actions: 'reopenBucket' },
          },
        },
      },
    },
    closed: { type: 'final' },
  },
});

/** What the inspector and a shard manager show of a queue: its budget and who waits. */
export interface IdentifyQueueStatus {
  state: 'serving' | 'exhausted' | 'closed';
  budgetLeft: number;
  resetInMs: number;
  waiting: { shardId: number; bucket: number; waitingMs: number }[];
  coolingBuckets: number[];
  granted: number;
}

export function identifyQueueStatus(
  snapshot: { value: unknown; context: IdentifyQueueContext },
  now = snapshot.context.now,
): IdentifyQueueStatus {
  const { context } = snapshot;
  const state = snapshot.value === 'closed' ? 'closed' : (Object.values(snapshot.value as object)[0] as 'serving' | 'exhausted');
  return {
    state,
    budgetLeft: context.remaining,
    resetInMs: Math.max(0, context.resetAt - now),
    waiting: context.waiters.map(({ shardId, bucket, since }) => ({ shardId, bucket, waitingMs: Math.max(0, now - since) })),
    coolingBuckets: context.cooling.map((entry) => entry.bucket),
    granted: context.granted,
  };
}
