import { Redis } from 'ioredis';
import { createShardManager, wsSocketFactory, type CreateSocket, type ShardManager, type WebSocketLike } from '../../src/index.ts';
import type { RedisServer } from '../support/redisServer.ts';
import type { GatewayChild } from './gatewayChild.ts';
import type { GatewayReport } from './support/gatewayProcess.ts';
import { fleetProcesses, type FleetProcess } from './queues.ts';
import { describeFleetSchedule, describeFleetStep, type FleetSchedule, type FleetStep, type QueueKind } from './schedule.ts';
import { SteppedClock } from './steppedClock.ts';

/**
 * One fault schedule against a real fleet: createShardManager on real sockets, its identify queue
 * in memory or in a real redis-server, against the chaos gateway in its own process. The verdict
 * comes from what the server saw arrive, never from what the fleet believes:
 *
 * - budget: in no budget period of the server more IDENTIFYs than its budget;
 * - window: no two IDENTIFYs of one bucket less than the server's window apart;
 * - token: once a shard of the fleet was refused its token (4004), no shard of that fleet sends
 *   IDENTIFY again (until the process restarts): none on a connection the server accepted after the
 *   fleet heard the 4004, and none at all later than `inFlightMs` after it;
 * - no hang: every stop() resolves, no socket is left open, no promise rejects unhandled.
 */

export interface FleetEnvironment {
  gateway: GatewayChild;
  /** a running redis-server, for schedules on the Redis queue */
  redis?: RedisServer;
}

export interface FleetRunSummary {
  /** IDENTIFYs that reached the server, accepted or not */
  identifies: number;
  /** the fleet's error codes, with how often each was reported */
  errorCodes: Record<string, number>;
}

export const fleetToken = 'fleet-property-token';
const timeouts = { connect: 1_000, hello: 1_000, ready: 1_000, drain: 80, terminateGrace: 40 };
const backoff = { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 };
/** A call that takes this long is taken as hung: stop() is bounded by drain + grace, well below it. */
const hangMs = 5_000;
/** After the steps, the schedule runs at least until this long past the server's first budget reset. */
const pastResetMs = 300;
/** ...and then until every shard is ready or has ended, or this long. */
const settleMs = 1_500;
/** An IDENTIFY already on its way when the fleet heard the 4004 may still arrive within this. */
const inFlightMs = 250;

/** Real time as the other processes on this host read it, whatever Date.now() is stepped to here. */
const epochNow = () => performance.timeOrigin + performance.now();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function bounded<T>(promise: Promise<T>, what: string, ms = hangMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hung)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface RunningFleet {
  fleet: ShardManager;
  process: FleetProcess;
  /** 1 for the first manager, 2 after the first restart, ... */
  generation: number;
  /** real time when the first shard of this manager reported the token refused (4004) */
  tokenRefusedAt?: number;
}

/** A manager that heard its token refused, from then until its process ended. */
interface RefusedToken {
  from: number;
  until: number;
  generation: number;
}

let runs = 0;

/** When each IDENTIFY left this process, by shard: only to explain a verdict, never to reach one. */
type SentIdentifies = Map<number, number[]>;

/** The default `ws` socket, noting when an IDENTIFY is written to it. */
function notingIdentifies(sent: SentIdentifies): CreateSocket {
  const make = wsSocketFactory();
  return (url) => {
    const socket = make(url);
    const send: WebSocketLike['send'] = socket.send.bind(socket);
    (socket as { send: WebSocketLike['send'] }).send = (data, done) => {
      if (data.startsWith('{"op":2,')) {
        const shard = (JSON.parse(data) as { d?: { shard?: [number, number] } }).d?.shard?.[0] ?? 0;
        sent.set(shard, [...(sent.get(shard) ?? []), epochNow()]);
      }
      send(data, done);
    };
    return socket;
  };
}

/** Runs one schedule to its end and closes everything; throws with the schedule and what broke. */
export async function runFleetSchedule(schedule: FleetSchedule, env: FleetEnvironment): Promise<FleetRunSummary> {
  if (schedule.queue === 'redis' && !env.redis) throw new Error('a Redis schedule needs a redis-server');
  const problems: string[] = [];
  const errorCodes: Record<string, number> = {};
  const { url, apiUrl, firstResetAt } = await env.gateway.call('start', {
    token: fleetToken,
    helloStalls: schedule.helloStalls,
    fleet: {
      maxConcurrency: schedule.maxConcurrency,
      identifyWindowMs: schedule.windowMs,
      budget: schedule.budget,
      // Order within a bucket is not what this suite checks; a refused order would cost budget too.
      startInOrder: false,
    },
  });
  const shardIds = Array.from({ length: schedule.shardCount }, (_, id) => id);
  const processes = fleetProcesses({
    kind: schedule.queue,
    token: fleetToken,
    apiUrl,
    windowMs: schedule.windowMs,
    replyLagMs: schedule.replyLagMs,
    ...(env.redis ? { redis: { url: env.redis.url, prefix: `fleetprop:${process.pid}:${++runs}` } } : {}),
  });
  let admin: Redis | undefined;
  const tokenRefused: RefusedToken[] = [];
  const sent: SentIdentifies = new Map();
  let generation = 0;
  let running: RunningFleet | undefined;
  let at = 'the start';

  const launch = (resources: FleetProcess): RunningFleet => {
    const fleet = createShardManager({
      token: fleetToken,
      intents: 513,
      shardCount: schedule.shardCount,
      url,
      identifyQueue: resources.queue,
      sessionStore: resources.store,
      timeouts,
      backoff,
      sessionWriteIntervalMs: 100,
      createSocket: notingIdentifies(sent),
    });
    generation += 1;
    const running: RunningFleet = { fleet, process: resources, generation };
    fleet.on('error', (error) => {
      const code = (error as { code?: string }).code ?? error.name;
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
      if (code === 'AUTH_FAILED') running.tokenRefusedAt ??= epochNow();
    });
    // A shard failing (a 4004) rejects start(); the outcome is judged from the server's side.
    fleet.start().catch(() => {});
    return running;
  };

  const stopFleet = async (fleet: RunningFleet, keepSessions: boolean, what: string) => {
    await bounded(fleet.fleet.stop({ keepSessions }), what);
    if (fleet.tokenRefusedAt !== undefined)
      tokenRefused.push({ from: fleet.tokenRefusedAt, until: epochNow(), generation: fleet.generation });
    await fleet.process.close();
    const deadline = performance.now() + 1_500;
    let open = await env.gateway.call('open');
    while (open > 0 && performance.now() < deadline) {
      await sleep(10);
      open = await env.gateway.call('open');
    }
    if (open > 0) problems.push(`${open} socket(s) still open at the server 1.5 s after ${what} resolved`);
  };

  const sessionIds = async (fleet: RunningFleet): Promise<string[]> => {
    const ids = new Set<string>();
    for (const shardId of shardIds) {
      const live = fleet.fleet.session(shardId)?.sessionId;
      if (live) ids.add(live);
      const stored = await bounded(fleet.process.store.get(shardId), 'reading a stored session').catch(() => null);
      if (stored) ids.add(stored.sessionId);
    }
    return [...ids];
  };

  const perform = async (step: FleetStep, index: number, fleet: RunningFleet): Promise<RunningFleet> => {
    switch (step.kind) {
      case 'wait':
        await sleep(step.ms);
        break;
      case 'kill':
        await env.gateway.call('kill');
        break;
      case 'refuse':
        await env.gateway.call('refuse');
        break;
      case 'refuseResumes':
        await env.gateway.call('refuseResumes', await sessionIds(fleet));
        break;
      case 'fatal':
        await env.gateway.call('fatal');
        break;
      case 'restart':
        await stopFleet(fleet, step.keepSessions, `stop() for the restart at step ${index + 1}`);
        return launch(await bounded(processes.next(), 'making the next process'));
      case 'clock':
        clock.step(step.ms);
        break;
      case 'redis':
        if (step.action === 'restart') await env.redis!.restart();
        else {
          if (!admin) {
            admin = new Redis(env.redis!.url, { maxRetriesPerRequest: 1 });
            admin.on('error', () => {});
          }
          await bounded(admin.flushall(), 'FLUSHALL');
        }
        break;
    }
    return fleet;
  };

  const settled = (fleet: ShardManager) =>
    fleet.actor.getSnapshot().status === 'done' ||
    Object.values(fleet.shards()).every((shard) => shard.status === 'ready' || shard.status === 'failed' || shard.status === 'stopped');

  let report: GatewayReport | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const clock = SteppedClock.install();
  try {
    const first = await bounded(processes.next(), 'reading GET /gateway/bot and making the queue');
    // The queue has read the budget; the fleet starts only now (see startDelayMs).
    await sleep(schedule.startDelayMs);
    running = launch(first);
    for (const [index, step] of schedule.steps.entries()) {
      at = `step ${index + 1} (${describeFleetStep(step)})`;
      running = await perform(step, index, running);
    }
    at = 'the end of the schedule';
    await sleep(Math.max(0, firstResetAt + pastResetMs - epochNow()));
    const deadline = performance.now() + settleMs;
    while (!settled(running.fleet) && performance.now() < deadline) await sleep(20);
    at = 'the final stop()';
    const last = running;
    running = undefined;
    await stopFleet(last, false, 'the final stop()');
  } catch (error) {
    problems.push(`at ${at}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (running) {
      await bounded(running.fleet.stop(), 'stop() after a failure').catch(() => {});
      if (running.tokenRefusedAt !== undefined)
        tokenRefused.push({ from: running.tokenRefusedAt, until: epochNow(), generation: running.generation });
    }
    await processes.close();
    admin?.disconnect();
    if (env.redis && !env.redis.running) await env.redis.restart();
    clock.restore();
    report = await env.gateway.call('report').catch((error: unknown) => {
      problems.push(`no report from the gateway: ${String(error)}`);
      return undefined;
    });
    await env.gateway.call('close');
    await sleep(0);
    process.off('unhandledRejection', onUnhandled);
  }
  for (const reason of unhandled) problems.push(`unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
  if (report) problems.unshift(...serverVerdict(report, tokenRefused));
  if (problems.length > 0) {
    throw new Error(
      `${problems.map((problem) => `- ${problem}`).join('\n')}\n\nschedule:\n${describeFleetSchedule(schedule)}\n\n` +
        (report ? timeline(report, schedule, sent) : '(no timeline)') +
        `\nfleet errors: ${JSON.stringify(errorCodes)}`,
    );
  }
  return { identifies: report?.arrivals.length ?? 0, errorCodes };
}

/** The invariants, from what the server saw arrive. */
function serverVerdict(report: GatewayReport, tokenRefused: RefusedToken[]): string[] {
  const verdict: string[] = [];
  for (const violation of report.violations) {
    const when = `+${violation.at - report.startedAt} ms`;
    if (violation.kind === 'budget') verdict.push(`budget: IDENTIFY of shard ${violation.shard} at ${when} with the period's budget spent`);
    else if (violation.kind === 'window') verdict.push(`window: IDENTIFY of shard ${violation.shard} at ${when}: ${violation.detail}`);
    else verdict.push(`${violation.kind}: ${violation.detail} at ${when}`);
  }
  for (const { shard, at, connectedAt } of report.arrivals) {
    for (const { from, until, generation } of tokenRefused) {
      if (at > until) continue;
      const heard = `manager #${generation} heard the 4004 at +${Math.round(from - report.startedAt)} ms`;
      if (connectedAt > from) {
        verdict.push(`token: IDENTIFY of shard ${shard} at +${at - report.startedAt} ms on a connection opened after ${heard}`);
      } else if (at > from + inFlightMs) {
        verdict.push(`token: IDENTIFY of shard ${shard} at +${at - report.startedAt} ms, more than ${inFlightMs} ms after ${heard}`);
      }
    }
  }
  return verdict;
}

/** Every IDENTIFY as the server saw it, with the server's verdict on it. */
function timeline(report: GatewayReport, schedule: FleetSchedule, sent: SentIdentifies): string {
  const unmatched = [...report.violations];
  const unsent = new Map([...sent].map(([shard, times]) => [shard, [...times]]));
  const lines = report.arrivals.map(({ connection, shard, at }) => {
    const index = unmatched.findIndex((violation) => violation.shard === shard && Math.abs(violation.at - at) <= 1);
    const verdict = index >= 0 ? `refused (${unmatched.splice(index, 1)[0]!.kind})` : 'accepted';
    const bucket = shard === null ? '-' : shard % schedule.maxConcurrency;
    // The latest send of that shard before the arrival (clocks of one host; a few ms of skew at most).
    const times = unsent.get(shard ?? 0) ?? [];
    const before = times.filter((time) => time <= at + 5);
    const sentAt = before.at(-1);
    if (sentAt !== undefined) times.splice(0, before.length);
    const left = sentAt === undefined ? '' : `  (sent at +${Math.round(sentAt - report.startedAt)} ms)`;
    return `  +${String(at - report.startedAt).padStart(5)} ms  shard ${shard} (bucket ${bucket})  connection ${connection}  ${verdict}${left}`;
  });
  const reset = report.firstResetAt - report.startedAt;
  return `IDENTIFYs as the server saw them (its first budget period ends at +${reset} ms, the next lasts a day):\n${lines.join('\n') || '  none'}`;
}

/**
 * One quiet schedule per queue before the measured ones: loading modules and compiling the code
 * once can hold a fresh process's event loop for longer than a queue's margin over the window.
 */
export async function warmUp(env: FleetEnvironment, queues: readonly QueueKind[]): Promise<void> {
  for (const queue of queues) {
    const schedule: FleetSchedule = {
      queue,
      shardCount: 2,
      maxConcurrency: 1,
      windowMs: 40,
      budget: { total: 10, remaining: 10, resetAfterMs: 200 },
      startDelayMs: 0,
      helloStalls: 0,
      replyLagMs: 0,
      steps: [{ kind: 'refuse' }, { kind: 'wait', ms: 50 }, { kind: 'kill' }],
    };
    await runFleetSchedule(schedule, env).catch(() => {});
  }
}
