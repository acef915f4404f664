import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { checkShardId } from '../fleet/storedSession.ts';
import {
  abortError,
  IdentifyQueueClosedError,
  type IdentifyNotice,
  type IdentifyQueue,
  type IdentifyReservationOptions,
} from '../fleet/types.ts';
import type { IdentifyTurnHandle } from '../types.ts';
import { checkBudgetSnapshot, type BudgetSnapshot, type BudgetSource } from './budgetSource.ts';
import { bounded, checkRedisOptions, runScript, sleep, type RedisClient } from './commands.ts';
import { attemptScript, releaseScript, script, turnSentScript } from './scripts.ts';
import { defaultIdentifyWindowMs, defaultRedisMaxBackoffMs, defaultRedisTimeoutMs } from '../core/defaults.ts';
import { maxIdentifyWindowMs, paddedIdentifyWindowMs } from '../core/identifyWindow.ts';
import { maxTimerMs, optionChecker } from '../core/validation.ts';

export interface RedisIdentifyQueueOptions {
  redis: RedisClient;
  /** namespaces the keys (`{prefix}:identify:…`); every process of one bot uses the same prefix */
  prefix: string;
  /** `session_start_limit.max_concurrency` */
  maxConcurrency: number;
  /** one IDENTIFY per bucket per this many ms (default 5000); grants are kept 5% (at least 50 ms) further apart */
  windowMs?: number;
  /**
   * Reads `session_start_limit` afresh, e.g. `gatewayBotBudget({ token })` (GET /gateway/bot). The
   * queue asks only when the shared count is missing (first use, after Discord's reset, or once
   * Redis lost it) and seeds the count from the answer, with Discord's reset as its end.
   */
  budget: BudgetSource;
  /** how often a shard further back in its bucket's line asks again (default windowMs / 10, 20–250 ms; jittered ±25 %) */
  pollMs?: number;
  /** bound on each Redis call (default 2000 ms); a call that takes longer counts as a failure */
  timeoutMs?: number;
  /** retries after a failure back off from 100 ms up to this (default 5000 ms), with full jitter */
  maxBackoffMs?: number;
  /**
   * Hears every grant (for metrics and tests): Redis time of the grant and the budget left. It is
   * an onlooker: if it throws, the grant stands and the error becomes a process warning.
   */
  onGrant?: (grant: { shardId: number; bucket: number; grantedAt: number; budgetLeft: number }) => void;
}

const knownOptions = ['redis', 'prefix', 'maxConcurrency', 'windowMs', 'budget', 'pollMs', 'timeoutMs', 'maxBackoffMs', 'onGrant'];

const enum Reply {
  InLine = 0,
  Cooling = 1,
  BudgetSpent = 2,
  Granted = 3,
  BudgetUnknown = 4,
}

/** A budget snapshot and the monotonic time it was read: its period ends `resetAfterMs` after that. */
interface ReadBudget extends BudgetSnapshot {
  readAt: number;
}

const attempt = script(attemptScript);
const release = script(releaseScript);
const turnSent = script(turnSentScript);
/** The bound fetchGatewayBot puts on GET /gateway/bot by default. */
const budgetReadTimeoutMs = 10_000;

/** A grant that holds its bucket until the caller says whether its IDENTIFY went out. */
interface Reservation {
  /** how long the caller may take to say it, from the grant */
  holdMs: number;
}

/**
 * The identify queue shared by every process of a bot through Redis. Each shard takes a ticket in
 * its bucket's line and asks again until it is at the head, the bucket's lease is free and the
 * budget has some left; then one Lua script spends both at once. A process that dies mid-wait
 * stops refreshing its ticket, which is dropped once it reaches the head; one that dies holding a
 * lease frees the bucket when the lease expires, one window later.
 *
 * `reserve` (what a shard uses, as it asks before its socket opens) takes the same grant with a
 * lease of its hold plus a window. The caller's `sent()` sets it to one window from then, in
 * Redis's time, so Discord sees the windows between IDENTIFYs however long the socket took to
 * open; `release()` frees the bucket and refunds the budget, as an aborted wait does.
 *
 * The budget's period is Discord's: the count is seeded from a `session_start_limit` read just
 * before, and expires when that read says Discord resets. A missing count is never refilled by
 * assumption; one process reads the budget again and seeds it for all.
 *
 * Redis is only ever on the IDENTIFY path. While it is away each failed call is reported
 * (`COORDINATOR_UNAVAILABLE`) and retried with a bounded backoff; the wait completes once it is back.
 */
export function redisIdentifyQueue(
  options: RedisIdentifyQueueOptions,
): IdentifyQueue & Required<Pick<IdentifyQueue, 'reserve'>> & { close(): void } {
  const where = 'redisIdentifyQueue';
  const check = optionChecker(where);
  if (typeof options !== 'object' || options === null) check.fail('options are required');
  check.knownKeys(null, options, knownOptions);
  const { redis, prefix, budget: budgetSource, onGrant } = options;
  checkRedisOptions(where, redis, prefix);
  const maxConcurrency = check.count('maxConcurrency', options.maxConcurrency, 1);
  const windowMs = check.duration('windowMs', options.windowMs ?? defaultIdentifyWindowMs, { min: 1, max: maxIdentifyWindowMs });
  if (typeof budgetSource !== 'function') {
    check.fail(
      'budget must be a function that reads session_start_limit afresh, e.g. gatewayBotBudget({ token }): ' +
        'a fixed { remaining, resetAfterMs } would seed the shared count again, stale, whenever Redis loses it',
    );
  }
  if (onGrant !== undefined && typeof onGrant !== 'function') check.fail('onGrant must be a function');
  const pollMs = check.duration('pollMs', options.pollMs ?? Math.min(250, Math.max(20, windowMs / 10)), { min: 1 });
  const timeoutMs = check.duration('timeoutMs', options.timeoutMs ?? defaultRedisTimeoutMs, { min: 1 });
  const maxBackoffMs = check.duration('maxBackoffMs', options.maxBackoffMs ?? defaultRedisMaxBackoffMs, { min: 1 });
  const leaseMs = paddedIdentifyWindowMs(windowMs);
  // A live waiter asks at least once per window (at the head) or per poll: twice that, plus a
  // slow call, and it is presumed dead.
  const ticketTtlMs = Math.ceil(2 * Math.max(leaseMs, pollMs) + timeoutMs);
  // An IDENTIFY granted just before the count went missing (a reset, a Redis that lost it) may
  // still be on its way to Discord; one window later it has arrived, and the budget read counts it.
  const settleMs = leaseMs;
  const readerTtlMs = Math.ceil(settleMs + budgetReadTimeoutMs + 2 * timeoutMs);

  const base = `{${prefix}}:identify`;
  const budgetKeys = [`${base}:budget`, `${base}:budget:reader`];
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
  // The budget read in flight in this process: the waiter that started it offers the answer to
  // Redis, the others ask again once it has settled.
  let reading: Promise<ReadBudget> | null = null;

  const jittered = (ms: number) => ms * (0.75 + Math.random() * 0.5);
  const backoff = (failures: number) => Math.round(Math.random() * Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures - 1, 16)));

  // Every bucket's lease. One still there belongs to a grant from the old count: its IDENTIFY may
  // not have reached Discord yet (a reservation can be sent up to its hold after the grant), and
  // a budget read before it arrives would not count it.
  const leaseKeys = Array.from({ length: maxConcurrency }, (_, bucket) => bucketKeys(bucket)[3]!);
  async function untilNoLease(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const left = await bounded(Promise.resolve(redis.exists(...leaseKeys)), timeoutMs, 'EXISTS of the bucket leases');
      if (left === 0) return;
      await sleep(pollMs, signal);
    }
  }

  async function readBudget(signal: AbortSignal): Promise<ReadBudget> {
    await sleep(settleMs, signal);
    await untilNoLease(signal);
    if (signal.aborted) throw abortError(signal);
    const readSignal = AbortSignal.any([signal, AbortSignal.timeout(budgetReadTimeoutMs)]);
    const answer = await bounded(
      Promise.resolve().then(() => budgetSource(readSignal)),
      budgetReadTimeoutMs,
      'the budget source',
    );
    // The period is anchored when the answer arrived: never earlier than Discord read it, so the
    // seed never ends before Discord's reset.
    const readAt = performance.now();
    return { ...checkBudgetSnapshot(answer), readAt };
  }

  const releaseCall = (ticket: string, keys: string[]) =>
    bounded(runScript(redis, release, [keys[0]!, keys[1]!, keys[3]!, budgetKeys[0]!], [ticket]), timeoutMs);
  const releaseTicket = (ticket: string, keys: string[]) => {
    releaseCall(ticket, keys).catch(() => {
      // Redis is away: the ticket goes stale, a lease it holds expires, the budget stays spent (never overspent).
    });
  };

  const reportOnGrantFailure = (error: unknown, shardId: number) => {
    const message = error instanceof Error ? error.message : String(error);
    const warning = new Error(`${where}: onGrant threw (${message}); the grant stands and shard ${shardId} identifies`, {
      cause: error,
    });
    warning.name = 'LifelineWarning';
    process.emitWarning(warning);
  };

  /**
   * Waits for a grant and returns the ticket that holds it. A reservation's lease lasts its hold
   * plus a window, and is marked held so that the next in line keeps asking: it ends early once
   * the caller says sent (a window from then) or release (at once).
   */
  async function waitForGrant(
    shardId: number,
    signal: AbortSignal,
    report: (notice: IdentifyNotice) => void,
    reservation: Reservation | null,
  ): Promise<{ ticket: string; keys: string[] }> {
    const bucket = shardId % maxConcurrency;
    const keys = bucketKeys(bucket);
    // One ticket for the whole wait: every call of this wait names it, so a grant won by a call
    // whose answer was lost is found by the next call and used, never paid for again.
    const ticket = `${processTag}:${++nextTicket}`;
    // A hold that runs out is treated as an IDENTIFY sent at its last moment: a window follows it.
    const grantLeaseMs = reservation ? Math.min(maxTimerMs, Math.ceil(reservation.holdMs) + leaseMs) : leaseMs;
    let failures = 0;
    let readFailures = 0;
    let spentReported = false;
    let seed: ReadBudget | null = null;
    const failed = async (error: unknown, count: number) => {
      const retryInMs = backoff(count);
      report({ code: 'COORDINATOR_UNAVAILABLE', cause: error instanceof Error ? error : new Error(String(error)), retryInMs });
      await sleep(retryInMs, signal);
    };
    while (!signal.aborted) {
      // A snapshot is offered to Redis in one call only: after that, a count still missing is read again.
      const offered = seed;
      seed = null;
      const seedLeftMs = offered ? Math.ceil(offered.resetAfterMs - (performance.now() - offered.readAt)) : 0;
      const seedRemaining = offered && seedLeftMs >= 1 ? offered.remaining : -1;
      const args = [
        ticket,
        grantLeaseMs,
        ticketTtlMs,
        processTag,
        readerTtlMs,
        seedRemaining,
        Math.max(1, seedLeftMs),
        reservation ? 1 : 0,
      ];
      let reply: [number, number, number, number, number?];
      try {
        reply = (await bounded(runScript(redis, attempt, [...keys, ...budgetKeys], args), timeoutMs)) as typeof reply;
      } catch (error) {
        await failed(error, ++failures);
        continue;
      }
      failures = 0;
      const [code, value, now, spentFor, held] = reply;
      if (code === Reply.Granted) {
        if (signal.aborted) break;
        try {
          onGrant?.({ shardId, bucket, grantedAt: now, budgetLeft: value });
        } catch (error) {
          reportOnGrantFailure(error, shardId);
        }
        return { ticket, keys };
      }
      // Reported once per spell of a spent budget, whatever the place in line.
      if (spentFor >= 0 && !spentReported) report({ code: 'IDENTIFY_BUDGET_EXHAUSTED', retryAfterMs: spentFor });
      spentReported = spentFor >= 0;
      if (code === Reply.BudgetUnknown) {
        if (value !== 1) {
          // Another process reads the budget.
          await sleep(jittered(pollMs), signal);
        } else if (reading) {
          await settled(reading, signal);
        } else {
          const read = readBudget(signal);
          reading = read;
          const done = () => {
            if (reading === read) reading = null;
          };
          read.then(done, done);
          try {
            seed = await read;
            readFailures = 0;
          } catch (error) {
            if (!signal.aborted) await failed(error, ++readFailures);
          }
        }
      } else if (code === Reply.BudgetSpent) {
        // Keep the ticket fresh while waiting for the reset.
        await sleep(Math.min(value + 1, jittered(Math.max(pollMs, windowMs / 2))), signal);
      } else if (code === Reply.Cooling && held === 1) {
        // A reservation's lease ends as soon as its IDENTIFY goes out (plus a window) or is given up.
        await sleep(Math.min(value + 1, jittered(pollMs)), signal);
      } else if (code === Reply.Cooling) {
        // Never past a window: the ticket stays fresh, whatever lease another process set.
        await sleep(Math.min(value + 1, leaseMs) + Math.random() * Math.min(5, pollMs), signal);
      } else {
        await sleep(jittered(pollMs), signal);
      }
    }
    // Aborted: leave the line now rather than blocking it until the ticket is presumed dead, and
    // give back a grant this ticket may hold (one that arrived too late, or was never heard of).
    releaseTicket(ticket, keys);
    throw abortError(signal);
  }

  /** One wait, ended by its caller's abort or by the queue's close, whichever comes first. */
  async function join(
    shardId: number,
    signal: AbortSignal | undefined,
    report: ((notice: IdentifyNotice) => void) | undefined,
    reservation: Reservation | null,
  ): Promise<{ ticket: string; keys: string[] }> {
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
      return await waitForGrant(shardId, both, safeReport, reservation);
    } catch (error) {
      if (closing.signal.aborted && !signal?.aborted) throw new IdentifyQueueClosedError();
      if (signal?.aborted) throw abortError(signal);
      throw error;
    } finally {
      signal?.removeEventListener('abort', end);
      closing.signal.removeEventListener('abort', end);
    }
  }

  /**
   * The caller's word on a reserved grant. Only the first counts; each is one bounded Redis call
   * whose failure is harmless: the lease then expires by itself, hold and window after the grant,
   * never earlier than it should. The words still count after close(): the bucket and the budget
   * are shared with other processes.
   */
  function turnHandle(ticket: string, keys: string[]): IdentifyTurnHandle {
    let told = false;
    const tell = (word: () => Promise<unknown>) => {
      if (told) return;
      told = true;
      try {
        word().catch(() => {
          // Redis is away: the lease keeps the bucket closed until it expires.
        });
      } catch {
        // Nothing the caller could act on: the lease expires by itself.
      }
    };
    return {
      sent: () => tell(() => bounded(runScript(redis, turnSent, [keys[3]!], [ticket, leaseMs]), timeoutMs)),
      release: () => tell(() => releaseCall(ticket, keys)),
    };
  }

  return {
    async wait(shardId, signal, report) {
      checkShardId(shardId, 'IdentifyQueue.wait');
      await join(shardId, signal, report, null);
    },
    async reserve(shardId, reservation: IdentifyReservationOptions) {
      checkShardId(shardId, 'IdentifyQueue.reserve');
      const check = optionChecker('IdentifyQueue.reserve');
      if (typeof reservation !== 'object' || reservation === null) check.fail('options ({ holdMs }) are required');
      const holdMs = check.duration('holdMs', reservation.holdMs, { min: 1 });
      const { ticket, keys } = await join(shardId, reservation.signal, reservation.report, { holdMs });
      return turnHandle(ticket, keys);
    },
    close() {
      closing.abort();
    },
  };
}

/** Resolves once the promise has settled, either way, or the signal aborts. */
function settled(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}
