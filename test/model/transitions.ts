import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * A machine's transitions, each named by a key that survives `machine.provide()` (which rebuilds
 * the state nodes): source state id, event type (or `always`), and the position among the source's
 * transitions for that event, since guarded alternatives share an event.
 */

export function transitionKey(transition: AnyTransitionDefinition): string {
  const source = transition.source as AnyStateNode;
  const eventType = transition.eventType === '' ? 'always' : transition.eventType;
  const siblings = eventType === 'always' ? (source.always ?? []) : (source.transitions.get(transition.eventType) ?? []);
  const index = siblings.indexOf(transition);
  const targets = (transition.target ?? []).map((node: AnyStateNode) => node.id).join(',') || '(self)';
  return `${source.id} ─${eventType}[${index}]→ ${targets}`;
}

export function stateNodes(machine: AnyStateMachine): AnyStateNode[] {
  const nodes: AnyStateNode[] = [];
  const walk = (node: AnyStateNode) => {
    nodes.push(node);
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(machine.root);
  return nodes;
}

/** Every state id of the machine except its root. */
export function allStates(machine: AnyStateMachine): string[] {
  return stateNodes(machine)
    .filter((node) => node !== machine.root)
    .map((node) => node.id);
}

export function allTransitions(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  for (const node of stateNodes(machine)) {
    for (const transitions of node.transitions.values()) for (const t of transitions) keys.push(transitionKey(t));
    for (const t of node.always ?? []) keys.push(transitionKey(t));
  }
  return keys;
}
