import type { AnyStateMachine, InspectionEvent } from 'xstate';
import { allStates, allTransitions, transitionKey } from './transitions.ts';

/**
 * What the real engine did, from XState's inspection stream: every transition it took (from the
 * microsteps) and every state it was in, across all actors of the system.
 */
export class CoverageRecorder {
  readonly transitions = new Set<string>();
  readonly states = new Set<string>();
  /** transitions in the order they happened, for step assertions */
  readonly log: string[] = [];

  readonly observe = (event: InspectionEvent) => {
    if (event.type === '@xstate.microstep') {
      for (const transition of (event as unknown as { _transitions: Parameters<typeof transitionKey>[0][] })._transitions) {
        // A transient state (left by an eventless transition at once) shows up only as a source.
        this.states.add((transition.source as { id: string }).id);
        const key = transitionKey(transition);
        this.transitions.add(key);
        this.log.push(key);
      }
    }
    if (event.type === '@xstate.snapshot' || event.type === '@xstate.microstep') {
      const nodes = (event.snapshot as { _nodes?: { id: string }[] })._nodes;
      for (const node of nodes ?? []) this.states.add(node.id);
    }
  };

  merge(other: CoverageRecorder): void {
    for (const key of other.transitions) this.transitions.add(key);
    for (const id of other.states) this.states.add(id);
  }
}

/**
 * Prints `<label> coverage: states x/y, transitions x/y` for what `recorder` saw of `machine`, and
 * throws, naming each one, when a state or transition of the machine was never exercised.
 */
export function requireFullCoverage(label: string, machine: AnyStateMachine, recorder: CoverageRecorder): void {
  const states = allStates(machine);
  const transitions = allTransitions(machine);
  const missingStates = states.filter((id) => !recorder.states.has(id));
  const missingTransitions = transitions.filter((key) => !recorder.transitions.has(key));
  console.log(
    `${label} coverage: states ${states.length - missingStates.length}/${states.length}, ` +
      `transitions ${transitions.length - missingTransitions.length}/${transitions.length}`,
  );
  const missing = [...missingStates.map((id) => `state ${id}`), ...missingTransitions.map((key) => `transition ${key}`)];
  if (missing.length > 0) throw new Error(`not exercised by any played path:\n  ${missing.join('\n  ')}`);
}
