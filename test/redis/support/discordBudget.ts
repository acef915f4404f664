import type { BudgetSource } from '../../../src/redis/index.ts';

/**
 * Discord's side of the IDENTIFY budget, for tests: back-to-back periods of `periodMs` on the
 * monotonic clock, each starting with `total`, and every IDENTIFY counted in the period it arrives
 * in. `source` answers as GET /gateway/bot would.
 */
export class DiscordBudget {
  readonly startedAt = performance.now();
  /** IDENTIFYs that arrived in each period (index 0: the first) */
  readonly identifies: number[] = [];
  /** how many times the budget was read */
  reads = 0;

  constructor(
    readonly total: number,
    readonly periodMs: number,
    /** what the first period has left when the test starts */
    private readonly firstRemaining = total,
  ) {}

  period(now = performance.now()): number {
    return Math.floor((now - this.startedAt) / this.periodMs);
  }

  /** An IDENTIFY arrives now. */
  identify(): void {
    const period = this.period();
    this.identifies[period] = (this.identifies[period] ?? 0) + 1;
  }

  remaining(now = performance.now()): number {
    const period = this.period(now);
    const available = period === 0 ? this.firstRemaining : this.total;
    return Math.max(0, available - (this.identifies[period] ?? 0));
  }

  readonly source: BudgetSource = () => {
    this.reads += 1;
    const now = performance.now();
    const resetAfterMs = this.startedAt + (this.period(now) + 1) * this.periodMs - now;
    return Promise.resolve({ remaining: this.remaining(now), resetAfterMs });
  };

  /** The most IDENTIFYs any period received. */
  get mostInOnePeriod(): number {
    return Math.max(0, ...Array.from(this.identifies, (count) => count ?? 0));
  }
}

/** A budget source that always answers the same: a Discord nobody spends from (for tests of pacing). */
export const fixedBudget =
  (remaining = 1000, resetAfterMs = 600_000): BudgetSource =>
  () =>
    Promise.resolve({ remaining, resetAfterMs });
