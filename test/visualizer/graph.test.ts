import { describe, expect, it } from 'vitest';
import { createMachine, type AnyStateMachine } from 'xstate';
import { createGatewayMachine, discordProtocol } from '../../src/index.ts';
import { activePaths, collectMachines, machineGraph } from '../../visualizer/graph.ts';
import { layoutGraph, type LaidOutGraph } from '../../visualizer/layout.ts';

/**
 * The drawn graph must contain every state and every transition of each machine. The expected
 * sets are read here from the raw config the author wrote (`machine.config`), independently of
 * graph.ts, which reads XState's resolved state nodes: a state or transition added to a machine is
 * covered without touching this test, and a reader that drops one fails it.
 */

type TransitionConfig = string | { target?: string | string[]; guard?: unknown } | undefined;
interface StateConfig {
  id?: string;
  type?: string;
  initial?: string;
  states?: Record<string, StateConfig>;
  on?: Record<string, TransitionConfig | TransitionConfig[]>;
  always?: TransitionConfig | TransitionConfig[];
  after?: Record<string, TransitionConfig | TransitionConfig[]>;
  invoke?: InvokeConfig | InvokeConfig[];
}
interface InvokeConfig {
  id?: string;
  onDone?: TransitionConfig | TransitionConfig[];
  onError?: TransitionConfig | TransitionConfig[];
  onSnapshot?: TransitionConfig | TransitionConfig[];
}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function guardName(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return guard;
  const type = (guard as { type?: unknown }).type;
  if (typeof type === 'string') return type;
  return (guard as { name?: string }).name || 'inline guard';
}

/** Expected states (paths) and transitions (`source|kind:trigger|guard|targets`) from the raw config. */
function expectedFromConfig(machine: AnyStateMachine) {
  const config = machine.config as StateConfig;
  const ids = new Map<string, string>();
  const states: string[] = [];
  const walkIds = (node: StateConfig, path: string[]) => {
    const key = path.join('.');
    states.push(key);
    ids.set(node.id ?? (path.length ? `${machine.id}.${key}` : machine.id), key);
    for (const [child, sub] of Object.entries(node.states ?? {})) walkIds(sub, [...path, child]);
  };
  walkIds(config, []);

  const join = (...parts: string[]) => parts.filter(Boolean).join('.');
  const resolve = (target: string, source: string): string => {
    if (target.startsWith('#')) {
      const reference = target.slice(1).split('.');
      for (let cut = reference.length; cut > 0; cut--) {
        const found = ids.get(reference.slice(0, cut).join('.'));
        if (found !== undefined) return join(found, ...reference.slice(cut));
      }
      throw new Error(`unknown target ${target}`);
    }
    if (target.startsWith('.')) return join(source, target.slice(1));
    const parent = source.split('.').slice(0, -1).join('.');
    return join(source === '' ? '' : parent, target);
  };

  const transitions: string[] = [];
  const add = (source: string, trigger: string, candidates: TransitionConfig[]) => {
    for (const candidate of candidates) {
      const shape = typeof candidate === 'string' ? { target: candidate } : (candidate ?? {});
      const targets = list(shape.target)
        .map((t) => resolve(t, source))
        .sort();
      transitions.push(`${source}|${trigger}|${guardName(shape.guard)}|${targets.join(',')}`);
    }
  };
  const walk = (node: StateConfig, path: string) => {
    if (node.initial !== undefined) transitions.push(`${path}|initial:initial||${join(path, node.initial)}`);
    for (const [event, candidates] of Object.entries(node.on ?? {})) add(path, `event:${event}`, list(candidates));
    add(path, 'always:always', list(node.always));
    for (const [delay, candidates] of Object.entries(node.after ?? {})) {
      add(path, `after:${/^\d+$/.test(delay) ? `${delay} ms` : delay}`, list(candidates));
    }
    for (const invoke of list(node.invoke)) {
      if (!invoke.id) throw new Error(`an invoke in ${path || machine.id} has no id: give it one (see DESIGN.md)`);
      add(path, `done:${invoke.id}`, list(invoke.onDone));
      add(path, `error:${invoke.id}`, list(invoke.onError));
      // A child's relayed snapshot is an ordinary event to the page.
      add(path, `event:xstate.snapshot.${invoke.id}`, list(invoke.onSnapshot));
    }
    for (const [child, sub] of Object.entries(node.states ?? {})) walk(sub, join(path, child));
  };
  walk(config, '');
  return { states: states.sort(), transitions: transitions.sort() };
}

function extracted(machine: AnyStateMachine) {
  const graph = machineGraph(machine);
  return {
    graph,
    states: graph.states.map((s) => s.path).sort(),
    transitions: graph.transitions
      .map((t) => `${t.source}|${t.kind}:${t.trigger}|${t.guard ?? ''}|${[...t.targets].sort().join(',')}`)
      .sort(),
  };
}

/** Everything the page will draw for each transition: an edge label line per target, or a row in its state. */
function drawnTransitions(laid: LaidOutGraph) {
  const drawn = new Map<string, { targets: string[]; texts: string[] }>();
  const note = (id: string, target: string | null, text: string) => {
    const entry = drawn.get(id) ?? { targets: [], texts: [] };
    if (target !== null) entry.targets.push(target);
    entry.texts.push(text);
    drawn.set(id, entry);
  };
  for (const edge of laid.edges) {
    expect(edge.points.length, `edge ${edge.source} → ${edge.target} has a route`).toBeGreaterThanOrEqual(2);
    for (const point of edge.points) expect(Number.isFinite(point.x) && Number.isFinite(point.y)).toBe(true);
    if (!edge.initial) expect(edge.labelBox, `edge ${edge.source} → ${edge.target} has a placed label`).not.toBeNull();
    for (const transition of edge.transitions)
      note(transition, edge.target, edge.lines.find((l) => l.transition === transition)?.text ?? '');
  }
  for (const state of laid.states) {
    for (const row of state.rows) if (row.transition) note(row.transition, null, row.text);
  }
  return drawn;
}

const engine = createGatewayMachine({
  createSocket: () => {
    throw new Error('not used: the graph is read, never run');
  },
  protocol: discordProtocol({ token: 'unused', intents: 0 }),
  onDispatch: () => {},
  onError: () => {},
});
const machines = collectMachines(engine);

/** Shapes the engine's machines do not use yet: parallel regions, numeric delays, multiple targets, self-loops. */
const fixture = createMachine({
  id: 'fixture',
  initial: 'off',
  on: { reset: '.off' },
  states: {
    off: {
      on: { power: 'on' },
      after: {
        1500: {
          target: 'on',
          guard: function warmedUp() {
            return true;
          },
        },
      },
    },
    on: {
      type: 'parallel',
      on: { both: { target: ['.light.bright', '.sound.loud'] }, tick: { reenter: true, target: 'on' } },
      states: {
        light: {
          initial: 'dim',
          states: { dim: { on: { up: 'bright' } }, bright: { always: { target: 'dim', guard: { type: 'tooBright' } } } },
        },
        sound: {
          initial: 'quiet',
          states: { quiet: { on: { up: 'loud', noop: {} } }, loud: { on: { down: { target: '#fixture.off' } } } },
        },
      },
    },
  },
});

describe('graph extraction', () => {
  it('finds every machine the gateway can run, through the actors it was given', () => {
    expect(machines.map((m) => m.id).sort()).toEqual(['drain', 'freshReconnect', 'gateway', 'resumeReconnect']);
  });

  for (const machine of [...machines, fixture]) {
    it(`${machine.id}: every state and every transition of the config is in the graph`, () => {
      const expected = expectedFromConfig(machine);
      const actual = extracted(machine);
      expect(actual.states).toEqual(expected.states);
      expect(actual.transitions).toEqual(expected.transitions);
    });
  }

  it('classifies always, after, done and error transitions and names their triggers', () => {
    const gateway = machineGraph(machines.find((m) => m.id === 'gateway')!);
    const kinds = new Set(gateway.transitions.map((t) => t.kind));
    expect([...kinds].sort()).toEqual(['after', 'always', 'done', 'error', 'event', 'initial']);
    const stable = gateway.transitions.find((t) => t.kind === 'after');
    expect(stable).toMatchObject({ source: 'ready', trigger: 'stablePeriod', targets: [], label: 'after stablePeriod' });
    expect(gateway.transitions.filter((t) => t.kind === 'always').map((t) => t.label)).toEqual([
      'always [planFailsClosed]',
      'always [planIsFatal]',
      'always [planIsFresh]',
      'always',
    ]);
    const fixtureGraph = machineGraph(fixture);
    expect(fixtureGraph.transitions.find((t) => t.kind === 'after')?.label).toBe('after 1500 ms [warmedUp]');
    expect(fixtureGraph.states.find((s) => s.path === 'on')?.kind).toBe('parallel');
  });

  it('leaves out the raise/cancel XState adds for `after`, keeping the author’s actions', () => {
    const drain = machineGraph(machines.find((m) => m.id === 'drain')!);
    for (const state of drain.states) {
      for (const name of [...state.entry, ...state.exit]) expect(name).not.toMatch(/^xstate\.(raise|cancel)$/);
    }
    const gateway = machineGraph(machines.find((m) => m.id === 'gateway')!);
    expect(gateway.states.find((s) => s.path === 'connecting.fresh')?.entry).toEqual(['forgetSession', 'resetLedger', 'nextAttempt']);
  });

  it('reads active state paths off a snapshot value', () => {
    expect(activePaths('idle')).toEqual(['', 'idle']);
    expect(activePaths({ connecting: { handshake: 'opening' } })).toEqual([
      '',
      'connecting',
      'connecting.handshake',
      'connecting.handshake.opening',
    ]);
    expect(activePaths({ on: { light: 'dim', sound: 'loud' } })).toEqual([
      '',
      'on',
      'on.light',
      'on.light.dim',
      'on.sound',
      'on.sound.loud',
    ]);
  });
});

describe('layout', () => {
  for (const machine of [...machines, fixture]) {
    it(`${machine.id}: every state is placed inside its parent and every transition is drawn with its label`, async () => {
      const graph = machineGraph(machine);
      const laid = await layoutGraph(graph);
      const boxes = new Map(laid.states.map((s) => [s.path, s]));
      expect([...boxes.keys()].sort()).toEqual(expectedFromConfig(machine).states);

      for (const state of graph.states) {
        const box = boxes.get(state.path)!;
        for (const value of [box.x, box.y, box.width, box.height]) expect(Number.isFinite(value)).toBe(true);
        expect(box.width).toBeGreaterThan(0);
        const parent = state.parent === null ? { x: 0, y: 0, width: laid.width, height: laid.height } : boxes.get(state.parent)!;
        expect(box.x, `${state.path} inside its parent`).toBeGreaterThanOrEqual(parent.x);
        expect(box.y).toBeGreaterThanOrEqual(parent.y);
        expect(box.x + box.width).toBeLessThanOrEqual(parent.x + parent.width + 0.5);
        expect(box.y + box.height).toBeLessThanOrEqual(parent.y + parent.height + 0.5);
      }
      for (const initial of laid.initials) {
        expect(Number.isFinite(initial.x) && Number.isFinite(initial.y)).toBe(true);
      }

      const drawn = drawnTransitions(laid);
      for (const transition of graph.transitions) {
        const seen = drawn.get(transition.id);
        expect(seen, `transition ${transition.id} (${transition.label}) is drawn`).toBeDefined();
        expect([...seen!.targets].sort()).toEqual([...transition.targets].sort());
        if (transition.kind === 'initial') continue;
        for (const text of seen!.texts) {
          expect(text).toContain(transition.label);
          expect(text).toContain(transition.trigger);
        }
      }
    });
  }
});
