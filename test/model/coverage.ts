import type { InspectionEvent } from 'xstate';
import { transitionKey } from './transitions.ts';

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
