import { StateMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';

/**
 * A statechart as plain data: states and transitions, read from the machine's resolved state
 * nodes (`machine.root`), with nothing about drawing. States are named by their path from the
 * root (dot-joined, '' for the machine itself) because a path cannot collide, while a custom `id`
 * could, and because the active states of a snapshot are read off its value as paths.
 */

export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface StateVertex {
  path: string;
  parent: string | null;
  key: string;
  kind: StateKind;
  /** the child entered first, for compound states */
  initial: string | null;
  invokes: string[];
  entry: string[];
  exit: string[];
}

export type TransitionKind = 'event' | 'always' | 'after' | 'done' | 'error' | 'initial';

export interface TransitionEdge {
  id: string;
  source: string;
  /** empty for a targetless transition: it runs actions and stays in its state */
  targets: string[];
  kind: TransitionKind;
  /** the XState event type that takes it ('' for `always`, null for an initial transition) */
  event: string | null;
  /** the event name, the delay, or the invoked actor's id, as the machine's author wrote it */
  trigger: string;
  guard: string | null;
  actions: string[];
  reenter: boolean;
  label: string;
}

export interface MachineGraph {
  id: string;
  states: StateVertex[];
  transitions: TransitionEdge[];
}

const pathOf = (node: AnyStateNode) => node.path.join('.');

/** Names what an action, guard or delay is, whatever form the author gave it in. */
export function nameOf(thing: unknown, fallback: string): string {
  if (typeof thing === 'string') return thing;
  if (typeof thing === 'number') return `${thing} ms`;
  if (thing && (typeof thing === 'object' || typeof thing === 'function')) {
    const type = (thing as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    const name = (thing as { name?: unknown }).name;
    if (typeof thing === 'function' && typeof name === 'string' && name) return name;
  }
  return fallback;
}

function labelOf(kind: TransitionKind, trigger: string, guard: string | null): string {
  const head =
    kind === 'after' ? `after ${trigger}` : kind === 'done' ? `done: ${trigger}` : kind === 'error' ? `error: ${trigger}` : trigger;
  return guard ? `${head} [${guard}]` : head;
}

/** XState implements `after` with a raise on entry and a cancel on exit; the edge already shows it. */
function isAfterTimer(action: unknown): boolean {
  const { type, event, sendId } = action as { type?: unknown; event?: { type?: unknown }; sendId?: unknown };
  const timer = (name: unknown) => typeof name === 'string' && name.startsWith('xstate.after.');
  return (type === 'xstate.raise' && timer(event?.type)) || (type === 'xstate.cancel' && timer(sendId));
}

const actionNames = (actions: readonly unknown[]) =>
  actions.filter((action) => !isAfterTimer(action)).map((action) => nameOf(action, 'inline action'));

function stateOf(node: AnyStateNode): StateVertex {
  const compound = node.type === 'compound';
  const initialTarget = compound ? node.initial?.target?.[0] : undefined;
  return {
    path: pathOf(node),
    parent: node.parent ? pathOf(node.parent) : null,
    key: node.key,
    kind: node.type,
    initial: initialTarget ? pathOf(initialTarget) : null,
    invokes: node.invoke.map((invoke) => invoke.id),
    entry: actionNames(node.entry),
    exit: actionNames(node.exit),
  };
}

/** What kind of trigger an event type is for this node: XState folds `after` and invoke results into events. */
function classify(node: AnyStateNode, eventType: string): { kind: TransitionKind; trigger: string } {
  const delayed = node.after.find((after) => after.eventType === eventType);
  if (delayed) return { kind: 'after', trigger: nameOf(delayed.delay, String(delayed.delay)) };
  for (const invoke of node.invoke) {
    if (eventType === `xstate.done.actor.${invoke.id}`) return { kind: 'done', trigger: invoke.id };
    if (eventType === `xstate.error.actor.${invoke.id}`) return { kind: 'error', trigger: invoke.id };
  }
  return { kind: 'event', trigger: eventType };
}

function transitionsOf(node: AnyStateNode): TransitionEdge[] {
  const source = pathOf(node);
  const edges: TransitionEdge[] = [];
  const add = (
    kind: TransitionKind,
    event: string | null,
    trigger: string,
    candidate: {
      target?: readonly AnyStateNode[] | undefined;
      guard?: unknown;
      actions?: readonly unknown[];
      reenter?: boolean;
    },
  ) => {
    const guard = candidate.guard === undefined ? null : nameOf(candidate.guard, 'inline guard');
    edges.push({
      id: `${source}#${edges.length}`,
      source,
      targets: (candidate.target ?? []).map(pathOf),
      kind,
      event,
      trigger,
      guard,
      actions: (candidate.actions ?? []).map((action) => nameOf(action, 'inline action')),
      reenter: candidate.reenter ?? false,
      label: labelOf(kind, trigger, guard),
    });
  };
  if (node.type === 'compound' && node.initial) add('initial', null, 'initial', node.initial);
  for (const [eventType, candidates] of node.transitions) {
    const { kind, trigger } = classify(node, eventType);
    for (const candidate of candidates) add(kind, eventType, trigger, candidate);
  }
  for (const candidate of node.always ?? []) add('always', '', 'always', candidate);
  return edges;
}

/** Every state and transition of `machine`, parents before children, in document order. */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const states: StateVertex[] = [];
  const transitions: TransitionEdge[] = [];
  const visit = (node: AnyStateNode) => {
    states.push(stateOf(node));
    transitions.push(...transitionsOf(node));
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return { id: machine.id, states, transitions };
}

/**
 * The machine and every machine it can invoke or spawn, found through the actors it was given
 * (`setup({ actors })` or `.provide()`), so a machine added to the engine is drawn without a list
 * to keep up to date. Provided copies share their original's id and are drawn once.
 */
export function collectMachines(root: AnyStateMachine): AnyStateMachine[] {
  const found = new Map<string, AnyStateMachine>();
  const visit = (machine: AnyStateMachine) => {
    if (found.has(machine.id)) return;
    found.set(machine.id, machine);
    for (const logic of Object.values(machine.implementations.actors ?? {})) {
      if (logic instanceof StateMachine) visit(logic);
    }
  };
  visit(root);
  return [...found.values()];
}

/** The paths of the states a snapshot value says are active (the root, '', included). */
export function activePaths(value: unknown): string[] {
  const paths = [''];
  const walk = (current: unknown, prefix: string) => {
    if (typeof current === 'string') {
      paths.push(prefix + current);
      return;
    }
    if (current && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        paths.push(prefix + key);
        walk(child, `${prefix}${key}.`);
      }
    }
  };
  walk(value, '');
  return paths;
}
