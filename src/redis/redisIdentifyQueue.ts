import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { checkShardId } from '../fleet/storedSession.ts';
import { abortError, IdentifyQueueClosedError, type IdentifyNotice, type IdentifyQueue } from '../fleet/types.ts';
import { bounded, checkMs, checkRedisOptions, runScript, sleep, type RedisClient } from './commands.ts';
import { attemptScript, leaveScript, refundScript, script } from './scripts.ts';
import { defaultIdentifyWindowMs, defaultRedisMaxBackoffMs, defaultRedisTimeoutMs } from '../core/defaults.ts';

export interface RedisIdentifyQueueOptions {
  redis: RedisClient;
  /** namespaces the keys (`{prefix}:identify:…`); every process of one bot uses the same prefix */
  prefix: string;
  /** `session_start_limit.max_concurrency` */
  maxConcurrency: number;
  /** one IDENTIFY per bucket per this many ms (default 5000) */
  windowMs?: number;
  /**
   * From `session_start_limit`. Only the first process to reach an unseeded budget seeds it; after
   * it expires (the reset), it refills to `total` (default max(remaining, 1000)) for `resetIntervalMs`
   * (default 24 h).
   */
  budget: { remaining: number; resetAfterMs: number; total?: number; resetIntervalMs?: number };
  /** how often a shard further back in its bucket's line asks again (default windowMs / 10, 20–250 ms; jittered ±25 %) */
  pollMs?: number;
  /** bound on each Redis call (default 2000 ms); a call that takes longer counts as a failure */
  timeoutMs?: number;
  /** retries after a failure back off from 100 ms up to this (default 5000 ms), with full jitter */
  maxBackoffMs?: number;
  /** hears every grant (for metrics and tests): Redis time of the grant and the budget left */
  onGrant?: (grant: { shardId: number; bucket: number; grantedAt: number; budgetLeft: number }) => void;
}

const enum Reply {
  InLine = 0,
  Cooling = 1,
  BudgetSpent = 2,
  Granted = 3,
}

const attempt = script(attemptScript);
const leave = script(leaveScript);
const refund = script(refundScript);
const dayMs = 86_400_000;

/**
 * The identify queue shared by every process of a bot through Redis. Each shard takes a ticket in
 * its bucket's line and asks again until it is at the head, the bucket's lease is free and the
 * budget has some left; then one Lua script spends both at once. A process that dies mid-wait
 * stops refreshing its ticket, which is dropped once it reaches the head; one that dies holding a
 * lease frees the bucket when the lease expires, one window later.
 *
 * Redis is only ever on the IDENTIFY path. While it is away each failed call is reported
 * (`COORDINATOR_UNAVAILABLE`) and retried with a bounded backoff; the wait completes once it is back.
 */
export function redisIdentifyQueue(options: RedisIdentifyQueueOptions): IdentifyQueue & { close(): void } {
  const where = 'redisIdentifyQueue';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options are required`);
  const { redis, prefix, budget, onGrant } = options;
  checkRedisOptions(where, redis, prefix);
  if (!Number.isSafeInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
    throw new TypeError(`${where}: maxConcurrency must be an integer ≥ 1, got ${String(options.maxConcurrency)}`);
  }
  const maxConcurrency = options.maxConcurrency;
  const windowMs = Math.ceil(checkMs(where, 'windowMs', options.windowMs ?? defaultIdentifyWindowMs, 1));
  if (typeof budget !== 'object' || budget === null) throw new TypeError(`${where}: budget ({ remaining, resetAfterMs }) is required`);
  if (!Number.isSafeInteger(budget.remaining) || budget.remaining < 0)
    throw new TypeError(`${where}: budget.remaining must be an integer ≥ 0`);
  const total = budget.total ?? Math.max(budget.remaining, 1000);
  if (!Number.isSafeInteger(total) || total < 1) throw new TypeError(`${where}: budget.total must be an integer ≥ 1`);
  const resetAfterMs = Math.ceil(checkMs(where, 'budget.resetAfterMs', budget.resetAfterMs));
  const resetIntervalMs = Math.ceil(checkMs(where, 'budget.resetIntervalMs', budget.resetIntervalMs ?? dayMs, 1));
  const pollMs = checkMs(where, 'pollMs', options.pollMs ?? Math.min(250, Math.max(20, windowMs / 10)), 1);
  const timeoutMs = checkMs(where, 'timeoutMs', options.timeoutMs ?? defaultRedisTimeoutMs, 1);
  const maxBackoffMs = checkMs(where, 'maxBackoffMs', options.maxBackoffMs ?? defaultRedisMaxBackoffMs, 1);
  // A live waiter asks at least once per window (at the head) or per poll: twice that, plus a
  // slow call, and it is presumed dead.
  const ticketTtlMs = Math.ceil(2 * Math.max(windowMs, pollMs) + timeoutMs);

  const base = `{${prefix}}:identify`;
  const budgetKeys = [`${base}:budget`, `${base}:budget:epoch`];
  const bucketKeys = (bucket: number) => [
    `${base}:${bucket}:line`,
    `${base}:${bucket}:seen`,
    `${base}:${bucket}:counter`,
    `${base}:${bucket}:lease`,
  ];
  const processTag = randomBytes(6).toString('hex');
  let nextTicket = 0;
  const closing = new AbortController();
  // Every pending wait listens for the close: as many listeners as shards waiting, not a leak.
  setMaxListeners(0, closing.signal);

  const jittered = (ms: number) => ms * (0.75 + Math.random() * 0.5);

  const giveBack = (attemptId: string, bucket: number) => {
    const [, , , lease] = bucketKeys(bucket);
    bounded(runScript(redis, refund, [lease!, budgetKeys[0]!], [attemptId]), timeoutMs).catch(() => {
      // Redis is away: the lease expires by itself and the budget stays spent (never overspent).
    });
  };

  async function waitForGrant(shardId: number, signal: AbortSignal, report: (notice: IdentifyNotice) => void): Promise<void> {
    const bucket = shardId % maxConcurrency;
    const keys = bucketKeys(bucket);
    const ticket = `${processTag}:${++nextTicket}`;
    let attempts = 0;
    let failures = 0;
    let spentReported = false;
    while (!signal.aborted) {
      let reply: [number, number, number, number];
      const attemptId = `${ticket}#${++attempts}`;
      const args = [ticket, windowMs, budget.remaining, resetAfterMs, total, resetIntervalMs, ticketTtlMs, attemptId];
      try {
        reply = (await bounded(runScript(redis, attempt, [...keys.slice(0, 4), ...budgetKeys], args), timeoutMs, (late) => {
          // A grant that came back after its timeout is nobody's: give it back.
          if ((late as number[])[0] === Reply.Granted) giveBack(attemptId, bucket);
        })) as [number, number, number, number];
      } catch (error) {
        failures += 1;
        const retryInMs = Math.round(Math.random() * Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures - 1, 16)));
        report({ code: 'COORDINATOR_UNAVAILABLE', cause: error instanceof Error ? error : new Error(String(error)), retryInMs });
        await sleep(retryInMs, signal);
        continue;
      }
      failures = 0;
      const [code, value, now, spentFor] = reply;
      if (code === Reply.Granted) {
        if (signal.aborted) {
          giveBack(attemptId, bucket);
          break;
        }
        onGrant?.({ shardId, bucket, grantedAt: now, budgetLeft: value });
        return;
      }
      // Reported once per spell of a spent budget, whatever the place in line.
      if (spentFor >= 0 && !spentReported) report({ code: 'IDENTIFY_BUDGET_EXHAUSTED', retryAfterMs: spentFor });
      spentReported = spentFor >= 0;
      if (code === Reply.BudgetSpent) {
        // Keep the ticket fresh while waiting for the reset.
        await sleep(Math.min(value + 1, jittered(Math.max(pollMs, windowMs / 2))), signal);
      } else if (code === Reply.Cooling) {
        await sleep(value + 1 + Math.random() * Math.min(5, pollMs), signal);
      } else {
        await sleep(jittered(pollMs), signal);
      }
    }
    // Aborted: leave the line now rather than blocking it until the ticket is presumed dead.
    bounded(runScript(redis, leave, keys.slice(0, 2), [ticket]), timeoutMs).catch(() => {});
    throw abortError(signal);
  }

  return {
    async wait(shardId, signal, report) {
      checkShardId(shardId, 'IdentifyQueue.wait');
      if (closing.signal.aborted) throw new IdentifyQueueClosedError();
      if (signal?.aborted) throw abortError(signal);
      // One signal for both ends of a wait (its caller's abort, the queue's close), unlinked after.
      const ended = new AbortController();
      const end = () => ended.abort();
      signal?.addEventListener('abort', end, { once: true });
      closing.signal.addEventListener('abort', end, { once: true });
      const both = ended.signal;
      const safeReport = (notice: IdentifyNotice) => {
        try {
          report?.(notice);
        } catch {
          // A reporter that throws is the caller's bug; the wait goes on.
        }
      };
      try {
        await waitForGrant(shardId, both, safeReport);
      } catch (error) {
        if (closing.signal.aborted && !signal?.aborted) throw new IdentifyQueueClosedError();
        if (signal?.aborted) throw abortError(signal);
        throw error;
      } finally {
        signal?.removeEventListener('abort', end);
        closing.signal.removeEventListener('abort', end);
      }
    },
    close() {
      closing.abort();
    },
  };
}
