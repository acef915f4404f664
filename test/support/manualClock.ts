import type { ActorOptions, AnyActorLogic } from 'xstate';

type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

interface Timer {
  due: number;
  fn: () => void;
}

/**
 * A clock for XState's scheduler (`createActor(machine, { clock })`) that the test moves by hand.
 *
 * Unlike XState's `SimulatedClock`, `advance` walks from one due timer to the next and sets the
 * time to each timer's own due time before running it, so a timer scheduled by another timer starts
 * counting at the right moment. That keeps chains such as drain timeout → terminate grace exact.
 */
export class ManualClock implements Clock {
  #now = 0;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { due: this.#now + Math.max(0, timeout), fn: () => fn() });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms} ms`);
    const target = this.#now + ms;
    for (;;) {
      const next = this.#nextDue(target);
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = next.timer.due;
      next.timer.fn();
    }
    this.#now = target;
  }

  /** Runs the timers already due now (e.g. zero-delay ones) without moving time. */
  flush(): void {
    this.advance(0);
  }

  /**
   * Jumps from timer to timer until `done()` holds, for at most `limitMs`, and returns the time
   * that passed. Throws when the limit is reached first.
   */
  runUntil(done: () => boolean, limitMs: number): number {
    const start = this.#now;
    const limit = start + limitMs;
    while (!done()) {
      const next = this.#nextDue(limit);
      if (!next) {
        this.#now = limit;
        throw new Error(`condition still false after ${limitMs} ms`);
      }
      this.#timers.delete(next.id);
      this.#now = next.timer.due;
      next.timer.fn();
    }
    return this.#now - start;
  }

  #nextDue(limit: number): { id: number; timer: Timer } | undefined {
    let best: { id: number; timer: Timer } | undefined;
    for (const [id, timer] of this.#timers) {
      if (timer.due > limit) continue;
      // Earliest due first; timers due together run in the order they were set.
      if (!best || timer.due < best.timer.due || (timer.due === best.timer.due && id < best.id)) best = { id, timer };
    }
    return best;
  }
}
