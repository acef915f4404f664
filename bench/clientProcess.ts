import { allContenderNames, startFleet, type AnyContenderName } from './contenders/index.ts';
import type { Fleet, FleetEvents, FleetOptions } from './contenders/fleet.ts';
import { writeHeapSnapshot } from 'node:v8';
import { serve } from './lib/ipc.ts';
import { epochNow, sleep, within } from './lib/time.ts';

/**
 * One contender's connections in a process of their own (the contender is named in argv). The
 * bench opens a fleet, arms a measurement, makes the gateway act, then collects the result:
 * CPU and time for a dispatch flood, READY/RESUMED times per connection for recoveries, heap and
 * RSS for memory. Timestamps are epoch milliseconds, comparable with the gateway process's.
 */

const name = process.argv[2] as AnyContenderName;
if (!allContenderNames.includes(name)) throw new Error(`unknown contender ${JSON.stringify(name)}`);

const gc = (globalThis as { gc?: () => void }).gc;

let fleet: Fleet | undefined;

// ---- dispatch flood ----
let dispatched = 0;
let until = 0;
let reached: (() => void) | undefined;
const totals = { cpuUs: 0, wallMs: 0 };

// ---- recoveries ----
let recoveredAt = new Float64Array(0);
let recoveredBy = new Uint8Array(0); // 0 not yet, 1 READY (fresh), 2 RESUMED
let recoveriesLeft = 0;
let allRecovered: (() => void) | undefined;

function recovered(connection: number, how: 1 | 2): void {
  if (recoveredBy[connection] !== 0) return;
  recoveredBy[connection] = how;
  recoveredAt[connection] = epochNow();
  if (--recoveriesLeft === 0) allRecovered?.();
}

const events: FleetEvents = {
  dispatch() {
    if (++dispatched === until) reached?.();
  },
  ready: (connection) => recovered(connection, 1),
  resumed: (connection) => recovered(connection, 2),
};

function current(): Fleet {
  if (!fleet) throw new Error('no fleet is open: call open first');
  return fleet;
}

async function collectGarbage(): Promise<void> {
  if (!gc) return;
  for (let round = 0; round < 4; round++) {
    gc();
    await sleep(20);
  }
}

const handlers = {
  async open(options: Omit<FleetOptions, 'events'>) {
    if (fleet) throw new Error('a fleet is already open');
    recoveredAt = new Float64Array(options.count);
    // Marked as recovered until armRecovery, so the READYs of the initial connects count for nothing.
    recoveredBy = new Uint8Array(options.count).fill(1);
    const startedAt = epochNow();
    fleet = await startFleet[name]({ ...options, events });
    return { ms: epochNow() - startedAt };
  },

  /** Zeroes the dispatch count and the totals, after a full GC. */
  async armDispatches() {
    await collectGarbage();
    dispatched = 0;
    totals.cpuUs = 0;
    totals.wallMs = 0;
  },

  /** Stops reading: a flood sent meanwhile waits in socket buffers. */
  pause() {
    current().pause();
  },

  /** Resumes reading and waits until `events` dispatches arrived in all; adds the window's CPU and wall time to the totals. */
  async readBacklog(options: { events: number; timeoutMs: number }) {
    const done = new Promise<void>((resolve) => (reached = resolve));
    until = options.events;
    const cpu = process.cpuUsage();
    const startedAt = performance.now();
    current().resume();
    if (dispatched < until) await within(done, options.timeoutMs, `${until} dispatches (got ${dispatched})`);
    totals.wallMs += performance.now() - startedAt;
    const used = process.cpuUsage(cpu);
    totals.cpuUs += used.user + used.system;
    reached = undefined;
  },

  dispatchTotals() {
    return { events: dispatched, ...totals };
  },

  /** Forgets earlier recoveries: the next READY or RESUMED of each connection counts. */
  armRecovery() {
    recoveredBy.fill(0);
    recoveredAt.fill(Number.NaN);
    recoveriesLeft = recoveredBy.length;
  },

  forceFresh(options: { connection: number }) {
    const at = epochNow();
    current().forceFresh(options.connection);
    return { at };
  },

  /**
   * Waits until every connection recovered since armRecovery, or the timeout; times are epoch ms,
   * null for a connection that did not recover in time.
   */
  async awaitRecovery(options: { timeoutMs: number }) {
    if (recoveriesLeft > 0) {
      const all = new Promise<void>((resolve) => (allRecovered = resolve));
      await within(all, options.timeoutMs, 'recovery').catch(() => {});
      allRecovered = undefined;
    }
    return {
      at: [...recoveredAt].map((value) => (Number.isNaN(value) ? null : value)),
      resumed: recoveredBy.filter((how) => how === 2).length,
      identified: recoveredBy.filter((how) => how === 1).length,
      maxSocketsPerConnection: current().maxSocketsPerConnection(),
    };
  },

  async memory() {
    await collectGarbage();
    const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
    return { heapUsed, rss, external, arrayBuffers, gc: gc !== undefined };
  },

  /** Writes a V8 heap snapshot after full GCs (see bench/heapBreakdown.ts); returns its path. */
  async heapSnapshot(options: { path: string }) {
    await collectGarbage();
    return { path: writeHeapSnapshot(options.path) };
  },

  async close() {
    const closing = fleet;
    fleet = undefined;
    await closing?.close();
  },
};

export type ClientApi = typeof handlers;

serve(handlers, () => handlers.close());
