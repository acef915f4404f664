import { createActor, type Actor, type ActorOptions, type AnyActorLogic, type InspectionEvent } from 'xstate';
import { identifyQueueMachine, identifyQueueStatus, type IdentifyQueueInput, type IdentifyQueueStatus } from './identifyQueueMachine.ts';
import { checkShardId } from './storedSession.ts';
import { abortError, IdentifyQueueClosedError, type IdentifyNotice, type IdentifyQueue } from './types.ts';
import { defaultIdentifyWindowMs } from '../core/defaults.ts';
import { optionChecker, type OptionChecker } from '../core/validation.ts';
import { toObserver, type InspectOption } from '../api/inspectors.ts';
import { messageOf } from '../api/errors.ts';

type XStateClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;
/**
 * A clock for the statechart's timers that also tells the time, e.g. XState's `SimulatedClock`.
 * `now()` must run at the pace of the timers (a monotonic clock): the budget's reset is computed
 * from it and then waited for on a timer.
 */
export type QueueClock = XStateClock & { now(): number };

export interface MemoryIdentifyQueueOptions {
  /** `session_start_limit.max_concurrency` */
  maxConcurrency: number;
  /** one IDENTIFY per bucket per this many ms (default 5000, at most the longest timer) */
  windowMs?: number;
  /**
   * From `session_start_limit`: `remaining`, `reset_after` and `total` (default max(remaining,
   * 1000)); then a refill every `resetIntervalMs` (default 24 h, at least 1 ms). Every duration is
   * at most the longest timer (2^31−1 ms, about 24.8 days), and `remaining` at most `total`.
   *
   * `readLatencyMs` (default 0): how long before the queue was made the budget may have been read,
   * i.e. from sending GET /gateway/bot until now. Discord anchors `reset_after` at the moment it
   * read the budget, somewhere in that time, so its reset may come up to this much earlier than
   * `resetAfterMs` from now: the queue grants nothing from the time it may have reset until the
   * time it surely has. Less than `resetIntervalMs`.
   */
  budget: { remaining: number; resetAfterMs: number; total?: number; resetIntervalMs?: number; readLatencyMs?: number };
  /** drives the timers (default: real time on the monotonic clock, `performance.now()`) */
  clock?: QueueClock;
  /** an XState inspection observer for the queue's actor; a throw from it is reported once as a process warning, never reaches the queue */
  inspect?: InspectOption;
}

export interface MemoryIdentifyQueue extends IdentifyQueue {
  /** the running statechart */
  readonly actor: Actor<typeof identifyQueueMachine>;
  status(): IdentifyQueueStatus;
  close(): void;
}

const dayMs = 86_400_000;

// Held to the option types both ways by the compiler, so a new option cannot be refused as unknown.
const optionKeys = Object.keys({
  maxConcurrency: true,
  windowMs: true,
  budget: true,
  clock: true,
  inspect: true,
} satisfies Record<keyof MemoryIdentifyQueueOptions, true>);
const budgetKeys = Object.keys({
  remaining: true,
  resetAfterMs: true,
  total: true,
  resetIntervalMs: true,
  readLatencyMs: true,
} satisfies Record<keyof MemoryIdentifyQueueOptions['budget'], true>);

/**
 * The input of `identifyQueueMachine` from user options, every option checked. `startedAt` is the
 * queue clock's time when the budget was read (default: now on the real clock).
 */
export function identifyQueueInput(options: MemoryIdentifyQueueOptions, startedAt?: number): IdentifyQueueInput {
  const check = optionChecker('memoryIdentifyQueue');
  if (typeof options !== 'object' || options === null) check.fail('options are required');
  check.knownKeys(null, options, optionKeys);
  const { budget } = options;
  if (typeof budget !== 'object' || budget === null) check.fail('budget ({ remaining, resetAfterMs }) is required');
  check.knownKeys('budget', budget, budgetKeys);
  const remaining = check.count('budget.remaining', budget.remaining, 0);
  const total = check.count('budget.total', budget.total ?? Math.max(remaining, 1000), 1);
  if (remaining > total) check.fail(`budget.remaining (${remaining}) must not exceed budget.total (${total})`);
  if (options.clock !== undefined) checkClock(check, options.clock);
  if (options.inspect !== undefined && !isInspectOption(options.inspect)) {
    check.fail('inspect must be an observer, a function or a @statelyai/inspect inspector');
  }
  const start = startedAt ?? (options.clock ?? realClock).now();
  if (!Number.isFinite(start)) check.fail(`startedAt must be a finite time of the queue's clock, got ${String(start)}`);
  // A period of 0 would refill the budget at once, again and again: no limit at all.
  const resetIntervalMs = check.duration('budget.resetIntervalMs', budget.resetIntervalMs ?? dayMs, { min: 1 });
  const readLatencyMs = check.duration('budget.readLatencyMs', budget.readLatencyMs ?? 0);
  // Every later period may end that much early as well: one no longer than that has no moment sure to be inside it.
  if (readLatencyMs >= resetIntervalMs) {
    check.fail(`budget.readLatencyMs (${readLatencyMs}) must be less than budget.resetIntervalMs (${resetIntervalMs})`);
  }
  return {
    maxConcurrency: check.count('maxConcurrency', options.maxConcurrency, 1),
    windowMs: check.duration('windowMs', options.windowMs ?? defaultIdentifyWindowMs),
    budget: {
      remaining,
      total,
      resetAfterMs: check.duration('budget.resetAfterMs', budget.resetAfterMs),
      resetIntervalMs,
      readLatencyMs,
    },
    startedAt: start,
  };
}

function isInspectOption(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  const target: unknown = 'inspect' in value ? value.inspect : value;
  return (
    typeof target === 'function' ||
    (typeof target === 'object' && target !== null && typeof (target as { next?: unknown }).next === 'function')
  );
}

function checkClock(check: OptionChecker, clock: unknown): void {
  const parts = (typeof clock === 'object' && clock !== null ? clock : {}) as Record<string, unknown>;
  if (['now', 'setTimeout', 'clearTimeout'].some((name) => typeof parts[name] !== 'function')) {
    check.fail("clock must have now(), setTimeout() and clearTimeout(), e.g. XState's SimulatedClock");
  }
}

/**
 * Real time on the monotonic clock, so that a step of the wall clock (NTP, a suspended VM) cannot
 * move a reset that the timers then wait for; its timers do not keep the process alive on their
 * own (the budget timer runs for hours).
 */
const realClock: QueueClock = {
  now: () => performance.now(),
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
};

/**
 * The user's inspection observer, kept away from the actor: XState calls it inside its own
 * steps, where a throw would escape from createActor, send or stop and wedge the mailbox.
 */
function guardedInspector(option: InspectOption | undefined): ((event: InspectionEvent) => void) | undefined {
  const observer = toObserver(option);
  if (!observer) return undefined;
  let reported = false;
  return (event) => {
    try {
      observer(event);
    } catch (error) {
      // The queue has no error channel of its own; one warning says it, the rest would be noise.
      if (reported) return;
      reported = true;
      process.emitWarning(`memoryIdentifyQueue: the inspect observer threw: ${messageOf(error)}`, { code: 'INSPECTOR_THREW' });
    }
  };
}

/**
 * The identify queue of one process: `identifyQueueMachine` in an actor, behind the IdentifyQueue
 * interface.
 */
export function memoryIdentifyQueue(options: MemoryIdentifyQueueOptions): MemoryIdentifyQueue {
  const input = identifyQueueInput(options);
  const clock = options.clock ?? realClock;
  const inspect = guardedInspector(options.inspect);
  const actor = createActor(identifyQueueMachine, { input, clock, ...(inspect ? { inspect } : {}) });
  const queue = identifyQueueOverActor(actor, clock);
  actor.start();
  return { ...queue, actor, status: () => identifyQueueStatus(actor.getSnapshot(), clock.now()) };
}

type WaitReport = (notice: IdentifyNotice) => void;

interface PendingWait {
  resolve(): void;
  reject(error: Error): void;
  report?: (notice: IdentifyNotice) => void;
}

type QueueActorRef = Pick<Actor<typeof identifyQueueMachine>, 'send' | 'on' | 'getSnapshot'>;

/**
 * The IdentifyQueue interface over a running `identifyQueueMachine` actor, standalone or spawned
 * inside a shard manager. Each wait is one waiter of the statechart; its grant, notices and the
 * queue's close come back as emitted events.
 */
export function identifyQueueOverActor(
  actor: QueueActorRef,
  clock: { now(): number } = realClock,
): IdentifyQueue & Required<Pick<IdentifyQueue, 'reserve'>> & { close(): void } {
  const pending = new Map<number, PendingWait>();
  let nextWaiterId = 1;
  // Real timers of the queue do not hold the process open; a shard waiting for its turn should.
  let keepAlive: NodeJS.Timeout | undefined;
  const holdOpen = () => {
    if (pending.size > 0) keepAlive ??= setInterval(() => {}, 1 << 30);
    else if (keepAlive !== undefined) {
      clearInterval(keepAlive);
      keepAlive = undefined;
    }
  };

  const settle = (waiterId: number, outcome: (wait: PendingWait) => void) => {
    const wait = pending.get(waiterId);
    if (!wait) return;
    pending.delete(waiterId);
    holdOpen();
    outcome(wait);
  };

  actor.on('granted', ({ waiterId }) => settle(waiterId, (wait) => wait.resolve()));
  actor.on('notice', ({ waiterId, notice }) => {
    try {
      pending.get(waiterId)?.report?.(notice);
    } catch {
      // A reporter that throws is the caller's bug; the queue goes on.
    }
  });
  actor.on('closed', ({ waiterIds }) => {
    for (const waiterId of waiterIds) settle(waiterId, (wait) => wait.reject(new IdentifyQueueClosedError()));
  });

  /** One waiter of the statechart; resolves with its id when granted. */
  const join = (shardId: number, signal: AbortSignal | undefined, report: WaitReport | undefined, holdMs?: number) => {
    try {
      checkShardId(shardId, 'IdentifyQueue.wait');
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (actor.getSnapshot().status !== 'active') return Promise.reject(new IdentifyQueueClosedError());
    return new Promise<number>((resolve, reject) => {
      const waiterId = nextWaiterId++;
      const onAbort = () =>
        settle(waiterId, (wait) => {
          // Leaves the line before anything else can happen: an aborted wait is never granted.
          actor.send({ type: 'cancel', waiterId, at: clock.now() });
          wait.reject(abortError(signal!));
        });
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      pending.set(waiterId, {
        resolve: () => {
          done();
          resolve(waiterId);
        },
        reject: (error) => {
          done();
          reject(error);
        },
        report,
      });
      holdOpen();
      actor.send({ type: 'wait', waiterId, shardId, at: clock.now(), ...(holdMs === undefined ? {} : { holdMs }) });
    });
  };

  return {
    async wait(shardId, signal, report) {
      await join(shardId, signal, report);
    },
    async reserve(shardId, { holdMs, signal, report }) {
      const hold = optionChecker('IdentifyQueue.reserve').duration('holdMs', holdMs, { min: 1 });
      const waiterId = await join(shardId, signal, report, hold);
      let told = false;
      // Exactly one of the two counts, once; a queue closed meanwhile has nothing left to update.
      const tell = (type: 'turn.sent' | 'turn.released') => {
        if (told) return;
        told = true;
        if (actor.getSnapshot().status === 'active') actor.send({ type, waiterId, at: clock.now() });
      };
      return { sent: () => tell('turn.sent'), release: () => tell('turn.released') };
    },
    close() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'close' });
      for (const waiterId of [...pending.keys()]) settle(waiterId, (wait) => wait.reject(new IdentifyQueueClosedError()));
    },
  };
}
