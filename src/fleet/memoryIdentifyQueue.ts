import { createActor, type Actor, type ActorOptions, type AnyActorLogic } from 'xstate';
import { identifyQueueMachine, identifyQueueStatus, type IdentifyQueueStatus } from './identifyQueueMachine.ts';
import { checkShardId } from './storedSession.ts';
import { abortError, IdentifyQueueClosedError, type IdentifyNotice, type IdentifyQueue } from './types.ts';
import { defaultIdentifyWindowMs } from '../core/defaults.ts';

type XStateClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;
/** A clock for the statechart's timers that also tells the time, e.g. XState's `SimulatedClock`. */
export type QueueClock = XStateClock & { now(): number };

export interface MemoryIdentifyQueueOptions {
  /** `session_start_limit.max_concurrency` */
  maxConcurrency: number;
  /** one IDENTIFY per bucket per this many ms (default 5000) */
  windowMs?: number;
  /** from `session_start_limit`: `remaining`, `reset_after` and `total` (default max(remaining, 1000)) */
  budget: { remaining: number; resetAfterMs: number; total?: number; resetIntervalMs?: number };
  /** drives the timers (default: real time) */
  clock?: QueueClock;
  /** an XState inspection observer for the queue's actor */
  inspect?: ActorOptions<AnyActorLogic>['inspect'];
}

export interface MemoryIdentifyQueue extends IdentifyQueue {
  /** the running statechart */
  readonly actor: Actor<typeof identifyQueueMachine>;
  status(): IdentifyQueueStatus;
  close(): void;
}

const dayMs = 86_400_000;

function checkCount(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`memoryIdentifyQueue: ${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function checkDuration(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`memoryIdentifyQueue: ${name} must be a number of ms ≥ 0, got ${String(value)}`);
  }
  return value;
}

/** The input of `identifyQueueMachine` from user options, every option checked. */
export function identifyQueueInput(options: MemoryIdentifyQueueOptions, startedAt: number) {
  if (typeof options !== 'object' || options === null) throw new TypeError('memoryIdentifyQueue: options are required');
  const { budget } = options;
  if (typeof budget !== 'object' || budget === null)
    throw new TypeError('memoryIdentifyQueue: budget ({ remaining, resetAfterMs }) is required');
  const remaining = checkCount(budget.remaining, 'budget.remaining', 0);
  return {
    maxConcurrency: checkCount(options.maxConcurrency, 'maxConcurrency', 1),
    windowMs: checkDuration(options.windowMs ?? defaultIdentifyWindowMs, 'windowMs'),
    budget: {
      remaining,
      total: checkCount(budget.total ?? Math.max(remaining, 1000), 'budget.total', 1),
      resetAfterMs: checkDuration(budget.resetAfterMs, 'budget.resetAfterMs'),
      resetIntervalMs: checkDuration(budget.resetIntervalMs ?? dayMs, 'budget.resetIntervalMs'),
    },
    startedAt,
  };
}

/** Real time, with timers that do not keep the process alive on their own (the budget timer runs for hours). */
const realClock: QueueClock = {
  now: () => Date.now(),
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
};

/**
 * The identify queue of one process: `identifyQueueMachine` in an actor, behind the IdentifyQueue
 * interface.
 */
export function memoryIdentifyQueue(options: MemoryIdentifyQueueOptions): MemoryIdentifyQueue {
  const clock = options?.clock ?? realClock;
  const input = identifyQueueInput(options, clock.now());
  const actor = createActor(identifyQueueMachine, { input, clock, inspect: options.inspect });
  const queue = identifyQueueOverActor(actor, clock);
  actor.start();
  return { ...queue, actor, status: () => identifyQueueStatus(actor.getSnapshot(), clock.now()) };
}

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
export function identifyQueueOverActor(actor: QueueActorRef, clock: { now(): number } = realClock): IdentifyQueue & { close(): void } {
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

  return {
    wait(shardId, signal, report) {
      try {
        checkShardId(shardId, 'IdentifyQueue.wait');
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      if (signal?.aborted) return Promise.reject(abortError(signal));
      if (actor.getSnapshot().status !== 'active') return Promise.reject(new IdentifyQueueClosedError());
      return new Promise<void>((resolve, reject) => {
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
            resolve();
          },
          reject: (error) => {
            done();
            reject(error);
          },
          report,
        });
        holdOpen();
        actor.send({ type: 'wait', waiterId, shardId, at: clock.now() });
      });
    },
    close() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'close' });
      for (const waiterId of [...pending.keys()]) settle(waiterId, (wait) => wait.reject(new IdentifyQueueClosedError()));
    },
  };
}
