import { onTestFinished } from 'vitest';
import { createActor, type ActorOptions, type AnyActorLogic, type AnyActorRef, type InspectionEvent } from 'xstate';

/** `a.b.c` for a nested state value, the name itself for an atomic one. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length !== 1) return JSON.stringify(value);
    const [key, child] = entries[0]!;
    const rest = stateName(child);
    return rest === '' || rest === '{}' ? key : `${key}.${rest}`;
  }
  return '';
}

/**
 * Records every distinct consecutive state an actor walks through, from its first snapshot on.
 * Subscribe before `start()` so the initial state is included.
 */
export function recordStates(actor: AnyActorRef): string[] {
  const states: string[] = [];
  // No error handler on purpose: an actor that errors surfaces as an unhandled error in the run.
  actor.subscribe((snapshot: { value?: unknown }) => {
    const name = stateName(snapshot.value);
    if (states.at(-1) !== name) states.push(name);
  });
  return states;
}

/**
 * Creates and starts an actor that is stopped when the current test ends, whatever its outcome.
 * `beforeStart` runs between creation and start (to subscribe, for instance).
 */
export function startActor<TLogic extends AnyActorLogic>(
  logic: TLogic,
  options: ActorOptions<TLogic>,
  beforeStart?: (actor: ReturnType<typeof createActor<TLogic>>) => void,
): ReturnType<typeof createActor<TLogic>> {
  const actor = createActor<TLogic>(logic, options);
  onTestFinished(() => {
    actor.stop();
  });
  beforeStart?.(actor);
  actor.start();
  return actor;
}

/** The id of the actor an inspection event is about. */
export function inspectedId(event: InspectionEvent): string {
  return (event.actorRef as { id?: string }).id ?? '';
}
