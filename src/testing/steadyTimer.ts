// Short enough that slow rates stay smooth, long enough that fast ones batch.
const MIN_TICK_MS = 5;
const MAX_TICK_MS = 50;

/**
 * Calls `fire` `perSecond` times a second, in batches per timer tick. The due
 * count is derived from elapsed time, so timer jitter does not change the rate.
 * The timer is unref'ed; returns the function that stops it.
 */
export function startSteadyTimer(perSecond: number, fire: () => void): () => void {
  const startedAt = performance.now();
  let fired = 0;
  const tick = (): void => {
    const due = Math.floor(((performance.now() - startedAt) * perSecond) / 1000);
    for (; fired < due; fired++) fire();
  };
  const timer = setInterval(tick, Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, 1000 / perSecond)));
  timer.unref();
  return () => clearInterval(timer);
}
