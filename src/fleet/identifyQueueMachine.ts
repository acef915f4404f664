import { assign, enqueueActions, setup } from 'xstate';
import type { IdentifyNotice } from './types.ts';
import { maxTimerMs } from '../core/validation.ts';

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
 * Discord's reset is anchored where it read `session_start_limit`, which the queue knows only to
 * within `readLatencyMs` (from sending GET /gateway/bot to making the queue): it may come as early
 * as `resetAt - readLatencyMs` or as late as `resetAt`. So each period ends in `resetting`:
 * `running` (`serving` ⇄ `exhausted`) grants until the earliest moment the server's period may end
 * (the delay `periodMayEnd`), `resetting` grants nothing until the latest (the delay
 * `budgetReset`), and only then the budget refills. A reservation still held when its period may
 * have ended may send its IDENTIFY in either period, so it is paid from the next one too.
 *
 * Time lives in the statechart's own timers (the named delays `window`, `periodMayEnd` and
 * `budgetReset`), so a simulated clock drives it; `now` in the context is the latest time the
 * machine has seen (each event carries it), which keeps every action a pure function of context
 * and event.
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
    /**
     * How much earlier than `startedAt + resetAfterMs` Discord's reset may come: the budget was
     * read at most this long before `startedAt` (less than `resetIntervalMs`; default 0).
     */
    readLatencyMs?: number;
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
  /**
   * A reservation: once granted, the bucket is held for at most this long (and a window after it)
   * until the caller says its IDENTIFY went out (`turn.sent`, and the window runs from then) or
   * that none will (`turn.released`, and the bucket and the budget get it back). Absent for a plain wait.
   */
  holdMs?: number;
}

export interface CoolingBucket {
  bucket: number;
  /** when the bucket may grant again */
  until: number;
  /** the grant that closed it */
  waiterId: number;
  /** granted as a reservation whose IDENTIFY has not gone out yet */
  held: boolean;
  /**
   * The latest budget period the grant was paid from (a refund goes only to that period): one past
   * the current one while `resetting` when its IDENTIFY may land after the server's reset.
   */
  period: number;
}

export interface IdentifyQueueContext {
  maxConcurrency: number;
  windowMs: number;
  total: number;
  resetIntervalMs: number;
  /** IDENTIFYs left until the next reset */
  remaining: number;
  /** the latest moment the server's current budget period may end: the budget refills then */
  resetAt: number;
  /** the server's period may end this much before `resetAt`: nothing is granted in between */
  readLatencyMs: number;
  /** reservations of this period that may IDENTIFY after the server's reset, paid from the next period too */
  chargedToNext: number;
  now: number;
  /** in arrival order */
  waiters: IdentifyWaiter[];
  /** in the order their cool-down began */
  cooling: CoolingBucket[];
  /** grants since the queue started, less the reservations given back */
  granted: number;
  /** budget resets so far: the period a grant is paid from */
  period: number;
}

export type IdentifyQueueEvent =
  | { type: 'wait'; waiterId: number; shardId: number; at: number; holdMs?: number }
  | { type: 'cancel'; waiterId: number; at: number }
  /** a reservation's IDENTIFY went out: its bucket's window runs from `at` */
  | { type: 'turn.sent'; waiterId: number; at: number }
  /** a reservation ended without an IDENTIFY: its bucket reopens and the budget is refunded */
  | { type: 'turn.released'; waiterId: number; at: number }
  | { type: 'bucket.cooled'; bucket: number; at: number }
  | { type: 'close' };

export type IdentifyQueueEmitted =
  | { type: 'granted'; waiterId: number; shardId: number; at: number }
  | { type: 'notice'; waiterId: number; shardId: number; notice: IdentifyNotice }
  | { type: 'closed'; waiterIds: number[] };

/**
 * The earliest moment the server's current budget period may end. An IDENTIFY sent before it
 * reaches the server before the reset: its trip there is like the request's for the budget, whose
 * time is already inside `readLatencyMs`.
 */
export const periodMayEndAt = (context: IdentifyQueueContext): number => context.resetAt - context.readLatencyMs;

/**
 * Which waiters can be served now: oldest first, one per free bucket, while the budget lasts, and
 * none once the server's period may have ended (the time of the latest event decides, so a timer
 * that fires late lets nothing slip into the gap).
 */
export function selectGrants(context: IdentifyQueueContext): { grants: IdentifyWaiter[]; rest: IdentifyWaiter[] } {
  if (context.now >= periodMayEndAt(context)) return { grants: [], rest: context.waiters };
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

/** The cooling entry of a reservation still held for `waiterId`, if any. */
const heldFor = (context: IdentifyQueueContext, waiterId: number) =>
  context.cooling.find((entry) => entry.held && entry.waiterId === waiterId);

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
    periodMayEnd: ({ context }) => Math.max(0, periodMayEndAt(context) - context.now),
    budgetReset: ({ context }) => Math.max(0, context.resetAt - context.now),
  },
  guards: {
    budgetSpent: ({ context }) => context.remaining <= 0,
    budgetSurelyReset: ({ context }) => context.now >= context.resetAt,
    // A reservation given back, still held, in the period that paid for it: the budget has one more to grant.
    refundable: ({ context, event }) => {
      if (event.type !== 'turn.released') return false;
      return heldFor(context, event.waiterId)?.period === context.period;
    },
  },
  actions: {
    addWaiter: assign(({ context, event }) => {
      if (event.type !== 'wait') return {};
      const waiter: IdentifyWaiter = {
        waiterId: event.waiterId,
        shardId: event.shardId,
        bucket: event.shardId % context.maxConcurrency,
        since: event.at,
        ...(event.holdMs === undefined ? {} : { holdMs: event.holdMs }),
      };
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
    // Every reservation still held may send its IDENTIFY after the server's reset, where the new
    // period counts it: it is paid from that period as well as from this one. The alternative,
    // closing the period a whole hold early (connect and HELLO timeouts, 40 s by default) for
    // every reservation, would cost time at every reset; this costs one IDENTIFY of budget per
    // reservation actually caught across a reset, and a release gives it back.
    chargeHeldToNextPeriod: assign(({ context }) => {
      const straddling = (entry: CoolingBucket) => entry.held && entry.period === context.period;
      return {
        now: Math.max(context.now, periodMayEndAt(context)),
        chargedToNext: context.chargedToNext + context.cooling.filter(straddling).length,
        cooling: context.cooling.map((entry) => (straddling(entry) ? { ...entry, period: context.period + 1 } : entry)),
      };
    }),
    reachResetTime: assign(({ context }) => ({ now: Math.max(context.now, context.resetAt) })),
    // Never below 0: reservations held from a period plus its budget left never exceed `total`
    // (each grant moves one from the budget to the held, each end of a hold moves one out).
    refillBudget: assign(({ context }) => ({
      now: Math.max(context.now, context.resetAt),
      remaining: context.total - context.chargedToNext,
      chargedToNext: 0,
      resetAt: context.resetAt + context.resetIntervalMs,
      period: context.period + 1,
    })),
    // The window is measured from the IDENTIFY, not the grant: opening the socket took a while.
    startWindowAtSend: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'turn.sent') return;
      const entry = heldFor(context, event.waiterId);
      if (!entry) return;
      const now = seen(context, event.at);
      const until = now + context.windowMs;
      // Sent after the period may have ended, but before its timer fired (a late timer): the
      // IDENTIFY may count in the next period, which pays for it too, as for one caught holding.
      const late = entry.period === context.period && now >= periodMayEndAt(context);
      enqueue.cancel(`cooling.${entry.bucket}`);
      enqueue.assign({
        now,
        // Its cool-down begins again now, so it moves to the end: the list stays in the order timers were set.
        cooling: [
          ...context.cooling.filter((other) => other !== entry),
          { ...entry, until, held: false, period: late ? context.period + 1 : entry.period },
        ],
        chargedToNext: context.chargedToNext + (late ? 1 : 0),
      });
      enqueue.raise({ type: 'bucket.cooled', bucket: entry.bucket, at: until }, { delay: 'window', id: `cooling.${entry.bucket}` });
    }),
    // No IDENTIFY went out: Discord counted nothing, so neither does the queue.
    giveBackReservation: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'turn.released') return;
      const entry = heldFor(context, event.waiterId);
      if (!entry) return;
      // Paid from the period that ended too, which grants nothing more: only the latest gets it back.
      const refund = entry.period === context.period ? 1 : 0;
      const refundNext = entry.period === context.period + 1 ? 1 : 0;
      enqueue.cancel(`cooling.${entry.bucket}`);
      enqueue.assign({
        now: seen(context, event.at),
        cooling: context.cooling.filter((other) => other !== entry),
        remaining: context.remaining + refund,
        chargedToNext: context.chargedToNext - refundNext,
        granted: context.granted - 1,
      });
    }),
    grantReady: enqueueActions(({ context, enqueue }) => {
      const { grants, rest } = selectGrants(context);
      if (grants.length === 0) return;
      // A hold that runs out is treated as an IDENTIFY sent at its last moment: a window follows it.
      const coolFor = (grant: IdentifyWaiter) =>
        grant.holdMs === undefined ? context.windowMs : Math.min(maxTimerMs, grant.holdMs + context.windowMs);
      enqueue.assign({
        waiters: rest,
        remaining: context.remaining - grants.length,
        granted: context.granted + grants.length,
        cooling: [
          ...context.cooling,
          ...grants.map((grant) => ({
            bucket: grant.bucket,
            until: context.now + coolFor(grant),
            waiterId: grant.waiterId,
            held: grant.holdMs !== undefined,
            period: context.period,
          })),
        ],
      });
      for (const grant of grants) {
        const { waiterId, shardId, bucket } = grant;
        enqueue.emit({ type: 'granted', waiterId, shardId, at: context.now });
        const cooled = { type: 'bucket.cooled', bucket, at: context.now + coolFor(grant) } as const;
        // A reservation's hold is its own length (the caller's connect and HELLO timeouts), not a named delay.
        if (grant.holdMs === undefined) enqueue.raise(cooled, { delay: 'window', id: `cooling.${bucket}` });
        else enqueue.raise(cooled, { delay: coolFor(grant), id: `cooling.${bucket}` });
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
    readLatencyMs: input.budget.readLatencyMs ?? 0,
    chargedToNext: 0,
    now: input.startedAt,
    waiters: [],
    cooling: [],
    granted: 0,
    period: 0,
  }),
  initial: 'running',
  states: {
    running: {
      initial: 'serving',
      // Re-entering `running` (at each refill) starts this timer for the period's earliest end.
      after: { periodMayEnd: { target: '.resetting', actions: 'chargeHeldToNextPeriod' } },
      on: {
        cancel: { actions: 'removeWaiter' },
        'turn.sent': { actions: 'startWindowAtSend' },
        close: { target: 'closed', actions: 'releaseWaiters' },
      },
      states: {
        serving: {
          entry: 'grantReady',
          always: { guard: 'budgetSpent', target: 'exhausted' },
          on: {
            wait: { actions: ['addWaiter', 'grantReady'] },
            'bucket.cooled': { actions: ['reopenBucket', 'grantReady'] },
            'turn.released': { actions: ['giveBackReservation', 'grantReady'] },
          },
        },
        exhausted: {
          entry: 'reportExhaustedToAll',
          on: {
            wait: { actions: ['addWaiter', 'reportExhaustedToNewcomer'] },
            'bucket.cooled': { actions: 'reopenBucket' },
            // A reservation still held here was paid from this period (one caught across the last
            // reset was paid from this one too), so giving it back leaves one to grant.
            'turn.released': { guard: 'refundable', target: 'serving', actions: 'giveBackReservation' },
          },
        },
        // Between the earliest and the latest moment the server's period may end: a grant here
        // would count in the old period here and maybe in the new one at the server. Waits queue
        // up and are served at the refill; the gap is as long as reading the budget took.
        resetting: {
          // The timer marks the latest reset; an event that comes later than it does too. With the
          // reset known exactly (`readLatencyMs` 0) the gap is empty and the budget refills at once.
          after: { budgetReset: { actions: 'reachResetTime' } },
          always: { guard: 'budgetSurelyReset', target: '#identifyQueue.running', reenter: true, actions: 'refillBudget' },
          on: {
            wait: { actions: 'addWaiter' },
            'bucket.cooled': { actions: 'reopenBucket' },
            'turn.released': { actions: 'giveBackReservation' },
          },
        },
      },
    },
    closed: { type: 'final' },
  },
});

/** What the inspector and a shard manager show of a queue: its budget and who waits. */
export interface IdentifyQueueStatus {
  /** `resetting`: between the earliest and the latest moment the budget may reset, granting nothing */
  state: 'serving' | 'exhausted' | 'resetting' | 'closed';
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
  const state =
    snapshot.value === 'closed' ? 'closed' : (Object.values(snapshot.value as object)[0] as 'serving' | 'exhausted' | 'resetting');
  return {
    state,
    budgetLeft: context.remaining,
    resetInMs: Math.max(0, context.resetAt - now),
    waiting: context.waiters.map(({ shardId, bucket, since }) => ({ shardId, bucket, waitingMs: Math.max(0, now - since) })),
    coolingBuckets: context.cooling.map((entry) => entry.bucket),
    granted: context.granted,
  };
}
