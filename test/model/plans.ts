import type { AnyMachineSnapshot, AnyStateNode } from 'xstate';
import { describePath, type ModelPath } from './modelPaths.ts';
import { sleep, type World } from './world.ts';

/** What the world does for one step: an act when the step's source state is reached. */
export interface StepPlan {
  /** waits until the world is ready for the act (e.g. a held reconnect has its socket open) */
  before?: () => Promise<void>;
  act?: () => void;
  afterAct?: () => void;
}

/** The event types the active states of a snapshot have transitions for. */
export function eventTypesOf(snapshot: AnyMachineSnapshot): string[] {
  const types = new Set<string>();
  for (const node of (snapshot as unknown as { _nodes: AnyStateNode[] })._nodes) {
    for (const type of node.transitions.keys()) types.add(type);
  }
  return [...types];
}

const stepTimeoutMs = 3_000;

export async function until(condition: () => boolean, describeFailure: () => string): Promise<void> {
  const deadline = Date.now() + stepTimeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(describeFailure());
    await sleep(1);
  }
}

/** Where `keys` end when they occur in `log` from `start` on, in order; -1 when they do not. */
function tookInOrder(log: readonly string[], start: number, keys: readonly string[]): number {
  let at = start;
  for (const key of keys) {
    const found = log.indexOf(key, at);
    if (found === -1) return -1;
    at = found + 1;
  }
  return at;
}

export interface Observed {
  /** state keys of the actor under test, in order, consecutive repeats folded */
  history: () => readonly string[];
  /** the key the actor under test should show after a step */
  expected: (snapshot: AnyMachineSnapshot) => string;
  /** where in the transition log the path starts */
  logFrom: number;
}

/**
 * Plays a model path on the real engine: each step's act, then waits until the engine has taken the
 * same transitions as the model, in order, and shows the same next state; then checks the
 * invariants. A step that goes elsewhere, or nowhere within the step timeout, fails with the path
 * and what the engine did.
 */
export async function playPath(world: World, path: ModelPath, plans: StepPlan[], observed: Observed): Promise<void> {
  const initial = observed.expected(path.steps[0]!.from);
  await until(
    () => observed.history().length > 0,
    () => `the actor under test never appeared for path ${describePath(path)}`,
  );
  let cursor = observed.history().lastIndexOf(initial);
  if (cursor === -1) throw new Error(`the actor under test did not start in ${initial}: ${observed.history().join(' → ')}`);
  let logCursor = observed.logFrom;
  for (const [index, step] of path.steps.entries()) {
    const expected = observed.expected(step.to);
    const context = () =>
      `step ${index + 1} (${step.event.type}) of ${path.machine} path: ${describePath(path)}\n` +
      `  expected ${expected} via ${step.keys.join(' ; ')}\n` +
      `  engine went: ${observed.history().slice(Math.max(0, cursor)).join(' → ')}\n` +
      `  transitions: ${world.recorder.log.slice(logCursor).slice(0, 14).join(' ; ')}`;
    await plans[index]?.before?.();
    plans[index]?.act?.();
    plans[index]?.afterAct?.();
    let taken = -1;
    await until(
      () => (taken = tookInOrder(world.recorder.log, logCursor, step.keys)) !== -1,
      () => `did not take the model's transitions: ${context()}`,
    );
    logCursor = taken;
    if (observed.expected(step.from) !== expected) {
      await until(
        () => observed.history().length > cursor + 1,
        () => `no state change: ${context()}`,
      );
      const reached = observed.history()[cursor + 1];
      if (reached !== expected) throw new Error(`went to ${reached}: ${context()}`);
      cursor += 1;
    }
    const problems = world.checkInvariants();
    if (problems.length > 0) throw new Error(`invariants broken: ${problems.join('; ')}\n${context()}`);
  }
}
