import { createEmptyActor, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { allTransitions, transitionKey } from './transitions.ts';

export interface ModelStep {
  event: EventObject;
  from: AnyMachineSnapshot;
  to: AnyMachineSnapshot;
  /** the transitions the model takes for this step, eventless ones included */
  keys: string[];
}

export interface ModelPath {
  machine: string;
  steps: ModelStep[];
}

export interface TraversalSpec {
  /** the machine as traversed: I/O actions stubbed, structure unchanged */
  machine: AnyStateMachine;
  input: unknown;
  /** candidate events in a state; only those that the real engine can produce there */
  events: (snapshot: AnyMachineSnapshot) => EventObject[];
  /** what distinguishes two states for the purpose of the test */
  serializeState: (snapshot: AnyMachineSnapshot) => string;
}

/**
 * An actor scope for pure traversal that records which transitions each step takes. Actions are
 * not executed (as in xstate/graph's own traversal); only the microstep inspection is captured.
 */
function recordingScope(record: (keys: string[]) => void) {
  const empty = createEmptyActor();
  const system = Object.create(empty.system) as typeof empty.system & { _sendInspectionEvent: (event: unknown) => void };
  system._sendInspectionEvent = (event: unknown) => {
    const inspection = event as { type: string; _transitions?: Parameters<typeof transitionKey>[0][] };
    if (inspection.type === '@xstate.microstep') record((inspection._transitions ?? []).map(transitionKey));
  };
  return {
    self: empty,
    logger: () => {},
    id: '',
    sessionId: 'model',
    defer: () => {},
    system,
    stopChild: () => {},
    emit: () => {},
    actionExecutor: () => {},
  };
}

/** One step of the model: where `event` takes `from`, and the transitions it takes on the way. */
export function step(machine: AnyStateMachine, from: AnyMachineSnapshot, event: EventObject): ModelStep {
  const keys: string[] = [];
  const scope = recordingScope((taken) => keys.push(...taken));
  const to = machine.transition(from, event, scope as never) as AnyMachineSnapshot;
  return { event, from, to, keys };
}

function initialKeys(machine: AnyStateMachine, input: unknown): string[] {
  const keys: string[] = [];
  machine.getInitialSnapshot(recordingScope((taken) => keys.push(...taken)) as never, input);
  return keys;
}

/**
 * Paths that together take every transition the model can reach: the shortest path (from
 * xstate/graph) to each state, extended by each event possible there, kept only when it takes a
 * transition no earlier path took. Returns the transitions no path reaches, too.
 */
export function coveringPaths(spec: TraversalSpec): { paths: ModelPath[]; unreachable: string[]; initial: string[] } {
  const { machine } = spec;
  // A finished actor takes no events, whatever its final state's parents would accept.
  const events = (snapshot: AnyMachineSnapshot) => (snapshot.status === 'active' ? spec.events(snapshot) : []);
  const shortest = getShortestPaths(machine, {
    input: spec.input,
    events: events as never,
    serializeState: (snapshot) => spec.serializeState(snapshot as AnyMachineSnapshot),
  });

  const candidates: ModelStep[][] = [];
  for (const statePath of shortest) {
    const prefix: ModelStep[] = [];
    let at = statePath.steps[0]!.state as AnyMachineSnapshot;
    for (const { event } of statePath.steps.slice(1)) {
      const next = step(machine, at, event);
      prefix.push(next);
      at = next.to;
    }
    for (const event of events(at)) {
      const last = step(machine, at, event);
      if (last.keys.length > 0) candidates.push([...prefix, last]);
    }
  }
  candidates.sort((a, b) => a.length - b.length);

  const initial = initialKeys(machine, spec.input);
  const covered = new Set(initial);
  const paths: ModelPath[] = [];
  for (const steps of candidates) {
    if (steps.some((s) => s.keys.some((key) => !covered.has(key)))) {
      paths.push({ machine: machine.id, steps });
      for (const s of steps) for (const key of s.keys) covered.add(key);
    }
  }
  const unreachable = allTransitions(machine).filter((key) => !covered.has(key));
  return { paths, unreachable, initial };
}

/** `a.b.c` for a nested state value. */
export function valueKey(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as object)[0] ?? [];
  return key === undefined ? '' : child && typeof child === 'object' && Object.keys(child).length === 0 ? key : `${key}.${valueKey(child)}`;
}

export function describePath(path: ModelPath): string {
  return path.steps.map((s) => `${s.event.type.replace(/^xstate\./, '')} → ${valueKey(s.to.value)}`).join(' | ');
}
