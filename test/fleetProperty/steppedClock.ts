/**
 * The wall clock of this process, as NTP or a resumed VM moves it: `Date.now()` jumps by a step
 * while timers, `performance.now()` and every other process (the gateway, Redis) go on in real
 * time. Only `Date.now()` is moved; the harness itself measures with `performance.now()`.
 */
export class SteppedClock {
  #offsetMs = 0;
  readonly #realNow = Date.now;

  private constructor() {}

  /** Takes over `Date.now()` until `restore()`; only one may be installed at a time. */
  static install(): SteppedClock {
    if (installed) throw new Error('a SteppedClock is already installed');
    const clock = new SteppedClock();
    installed = clock;
    Date.now = () => clock.#realNow.call(Date) + clock.#offsetMs;
    return clock;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Moves the wall clock by `ms`, forward or back. */
  step(ms: number): void {
    this.#offsetMs += ms;
  }

  restore(): void {
    if (installed !== this) return;
    Date.now = this.#realNow;
    installed = undefined;
  }
}

let installed: SteppedClock | undefined;
