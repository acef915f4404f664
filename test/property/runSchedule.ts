import { checkQuiet, checkStep } from './invariants.ts';
import { describeSchedule, describeStep, type Schedule, type Step } from './schedule.ts';
import type { GatewayMachine } from './drivers.ts';
import { World } from './world.ts';

/** Installs `random` as Math.random and returns the undo; tests pass vi.spyOn, scripts assign. */
export type StubRandom = (random: () => number) => () => void;

export const assignRandom: StubRandom = (random) => {
  const original = Math.random;
  Math.random = random;
  return () => {
    Math.random = original;
  };
};

/** A small seeded generator (mulberry32): the engine's jitter replays exactly from the schedule. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export interface RunSummary {
  outcome: 'stopped' | 'failed';
  /** recovery decisions taken, as `trigger → action` */
  plans: string[];
}

export interface RunOptions {
  stubRandom?: StubRandom;
  /** a substitute statechart (see propertyMachine), run through the statechart driver */
  machine?: GatewayMachine;
}

/**
 * Runs one schedule: start, each step with the invariants checked after it, then a stop from
 * wherever the schedule left the gateway, then the checks that need the event loop to turn
 * (promises settled, nothing rejected unobserved). Throws InvariantViolation with the schedule,
 * the step and a trace of what the engine did when an invariant breaks: the trace comes from a
 * second, traced run of the same schedule, which replays exactly (seeded jitter, simulated time).
 */
export async function runSchedule(schedule: Schedule, options: RunOptions = {}): Promise<RunSummary> {
  try {
    return await runOnce(schedule, options, false);
  } catch (error) {
    if (!(error instanceof InvariantViolation)) throw error;
    try {
      await runOnce(schedule, options, true);
    } catch (traced) {
      if (traced instanceof InvariantViolation) throw traced;
    }
    throw new InvariantViolation(`${error.message}\n(the traced replay did not break: the run is not deterministic)`);
  }
}

async function runOnce(schedule: Schedule, options: RunOptions, tracing: boolean): Promise<RunSummary> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  let world: World;
  try {
    const restore = (options.stubRandom ?? assignRandom)(seededRandom(schedule.seed));
    try {
      world = new World(schedule, tracing, options.machine);
      await play(world);
    } finally {
      restore();
    }
    // Rejections nobody handles are reported once the microtasks of this run have drained.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  for (const reason of unhandled) world.violate(`unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
  for (const entry of world.watched) if (!entry.settled) world.violate(`${entry.what} never settled although the gateway ended`);
  world.sends.checkSettled();
  failIfViolated(world, 'after the run');
  return {
    outcome: world.snapshot.output?.status ?? 'stopped',
    plans: world.plans.map(
      (plan) => `${plan.trigger.type}${plan.trigger.type === 'close' ? ` ${plan.trigger.code}` : ''} → ${plan.action}`,
    ),
  };
}

/** Lets promise callbacks run (socket write confirmations, send() outcomes); no simulated time passes. */
async function settleMicrotasks(): Promise<void> {
  for (let turn = 0; turn < 4; turn += 1) await Promise.resolve();
}

async function play(world: World): Promise<void> {
  const start = world.driver.start();
  if (start && world.schedule.observeStart) world.watch(start, 'start()');
  world.clock.flush();
  await settleMicrotasks();
  checkStep(world);
  failIfViolated(world, 'start()');

  for (const [index, step] of world.schedule.steps.entries()) {
    world.note(() => `step ${index + 1}: ${describeStep(step)}`);
    try {
      perform(world, step);
      if (step.kind !== 'advance') world.clock.flush();
    } catch (error) {
      world.violate(`threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    await settleMicrotasks();
    checkStep(world);
    failIfViolated(world, `step ${index + 1} (${describeStep(step)})`);
  }

  if (world.stopRequestedAt === undefined) stop(world, true);
  finish(world);
  failIfViolated(world, 'the final stop');
}

function perform(world: World, step: Step): void {
  const { server, driver } = world;
  switch (step.kind) {
    case 'advance':
      return advance(world, step.ms);
    case 'close':
      return server.close(step.code);
    case 'drop':
      return server.drop();
    case 'op7':
      return server.requestReconnect();
    case 'op9':
      return server.invalidateSession(step.resumable);
    case 'stallOpen':
      return server.stallOpen(step.count);
    case 'stallHello':
      return server.stallHello(step.count);
    case 'stallReady':
      return server.stallReady(step.count);
    case 'dropAcks':
      return server.dropAcks(step.on);
    case 'stick':
      return server.stick(step.terminateToo);
    case 'unstick':
      return server.unstick();
    case 'malformed':
      return server.malformed(step.frame);
    case 'heartbeatRequest':
      return server.requestHeartbeat();
    case 'dispatch':
      return server.dispatch(step.count);
    case 'reconnect': {
      if (step.fresh) world.markFreshRequest();
      const ready = driver.reconnect(step.fresh);
      if (ready && step.observe) world.watch(ready, describeStep(step));
      return;
    }
    case 'send':
      return send(world, step.count);
    case 'stop':
      return stop(world, step.observe);
  }
}

/** Moves time, stopping exactly at the stop deadline on the way so that it is checked there. */
function advance(world: World, ms: number): void {
  const { clock } = world;
  const deadline = world.stopRequestedAt === undefined ? undefined : world.stopRequestedAt + world.stopBound;
  if (deadline !== undefined && clock.now() < deadline && clock.now() + ms > deadline) {
    const before = deadline - clock.now();
    clock.advance(before);
    checkStep(world);
    clock.advance(ms - before);
  } else {
    clock.advance(ms);
  }
}

/**
 * User payloads. Through the API each one's promise is watched (see SendTracker); straight
 * through the statechart, one sent while ready is written at once and any other is ignored.
 */
function send(world: World, count: number): void {
  for (let i = 0; i < count; i += 1) {
    const { nonce, body } = world.sends.payload(world.state === 'ready', world.done);
    const promise = world.driver.send(body, nonce);
    if (promise) world.sends.watch(nonce, promise);
    else world.sends.checkImmediate(nonce);
  }
}

function stop(world: World, observe: boolean): void {
  if (world.stopRequestedAt === undefined) {
    world.stopRequestedAt = world.clock.now();
    world.socketsAtStop = world.server.sockets.sockets.length;
  }
  const stopped = world.driver.stop();
  if (stopped && observe) world.watch(stopped, 'stop()');
}

/** Lets the final stop run to its deadline, lets in-flight frames land, and checks the silence. */
function finish(world: World): void {
  const { clock } = world;
  const deadline = (world.stopRequestedAt ?? clock.now()) + world.stopBound;
  try {
    clock.runUntil(() => world.done, Math.max(0, deadline - clock.now()));
  } catch {
    world.violate(`stop() not done within drain + grace (${world.stopBound} ms)`);
    return;
  }
  checkStep(world);
  clock.advance(2 * world.schedule.latency + 1);
  checkQuiet(world);
  if (clock.pending > 0) world.violate(`${clock.pending} timer(s) still pending once the network went quiet`);
}

function failIfViolated(world: World, where: string): void {
  if (world.violations.length === 0) return;
  throw new InvariantViolation(
    [
      `invariant broken at ${where}:`,
      ...world.violations.map((v) => `  - ${v}`),
      'schedule:',
      describeSchedule(world.schedule),
      ...(world.tracing ? ['trace (latest last):', ...world.trace.map((line) => `  ${line}`)] : []),
    ].join('\n'),
  );
}
