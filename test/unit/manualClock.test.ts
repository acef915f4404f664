import { describe, expect, it } from 'vitest';
import { ManualClock } from '../support/manualClock.ts';

// The gateway tests measure simulated time with this clock; these pin down the semantics they rely on.
describe('ManualClock (test support)', () => {
  it('runs a timer when its due time is reached, not before', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 100);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([100]);
  });

  it('a timer set by a timer counts from its own due time', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 100);
    clock.advance(1_000);
    expect(fired).toEqual([100, 150]);
    expect(clock.now()).toBe(1_000);
  });

  it('runs timers in due order, ties in the order they were set; cleared timers never run', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    const cleared = clock.setTimeout(() => fired.push('x'), 15);
    clock.setTimeout(() => fired.push('c'), 20);
    clock.clearTimeout(cleared);
    clock.advance(20);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.pending).toBe(0);
  });

  it('runUntil stops at the first moment the condition holds, and throws past its limit', () => {
    const clock = new ManualClock();
    let count = 0;
    clock.setTimeout(() => (count += 1), 30);
    clock.setTimeout(() => (count += 1), 70);
    expect(clock.runUntil(() => count === 1, 1_000)).toBe(30);
    expect(() => clock.runUntil(() => count === 5, 1_000)).toThrow(/still false/);
  });
});
