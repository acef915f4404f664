import type { ElkExtendedEdge, ElkLabel, ElkNode } from 'elkjs/lib/elk-api.js';
import type { MachineGraph, StateKind, StateVertex, TransitionEdge, TransitionKind } from './graph.ts';
import { textWidth, metrics as m } from './metrics.ts';

/**
 * Lays a machine graph out with elkjs (layered, hierarchy included so that edges cross compound
 * borders) and returns absolute coordinates the page only has to draw. Targetless transitions are
 * not edges: they are listed inside their state, as statecharts draw internal transitions.
 */

export interface Row {
  text: string;
  kind: 'invoke' | 'entry' | 'exit' | 'internal';
  /** the transition a row stands for, and the event that takes it (internal rows) */
  transition?: string;
  event?: string | null;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DrawnState extends Box {
  path: string;
  key: string;
  kind: StateKind;
  /** the machine root is drawn as the outer frame */
  root: boolean;
  rows: Row[];
}

/** One line of an edge's label: one transition. */
export interface EdgeLine {
  text: string;
  transition: string;
  kind: TransitionKind;
  event: string | null;
}

/** Transitions between the same two states share one drawn edge, one label line each. */
export interface DrawnEdge {
  id: string;
  source: string;
  target: string;
  /** an initial transition, drawn from the pseudo-state dot, unlabelled */
  initial: boolean;
  /** the transitions drawn by this edge */
  transitions: string[];
  lines: EdgeLine[];
  points: { x: number; y: number }[];
  labelBox: Box | null;
}

export interface DrawnInitial {
  /** the compound state whose initial child it points to */
  parent: string;
  x: number;
  y: number;
  size: number;
}

export interface LaidOutGraph {
  id: string;
  width: number;
  height: number;
  states: DrawnState[];
  edges: DrawnEdge[];
  initials: DrawnInitial[];
}

interface Elk {
  layout(graph: ElkNode): Promise<ElkNode>;
}

let elk: Promise<Elk> | undefined;

/**
 * elkjs is an optional peer dependency: only the inspector needs it, so it is loaded on the first
 * layout, and a missing one is named in the error. The bundled build runs the layout in-process
 * (no worker); it is CommonJS, and its class is its own `default`, so `.default` reaches it through
 * Node's ESM loader and through a bundler's interop alike.
 */
function loadElk(): Promise<Elk> {
  elk ??= import('elkjs/lib/elk.bundled.js').then(
    (bundle) => new bundle.default.default(),
    (error: unknown) => {
      elk = undefined;
      throw isModuleNotFound(error)
        ? new Error('lifeline-gateway/inspector needs elkjs to lay out its charts: npm install elkjs', { cause: error })
        : error;
    },
  );
  return elk;
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

const stateId = (path: string) => `s:${path}`;
const initialId = (path: string) => `i:${path}`;

function rowsOf(state: StateVertex, internal: TransitionEdge[]): Row[] {
  return [
    ...(state.entry.length ? [{ text: `entry / ${state.entry.join(', ')}`, kind: 'entry' } as Row] : []),
    ...state.invokes.map((id): Row => ({ text: `invoke ${id}`, kind: 'invoke' })),
    ...internal.map((t): Row => ({
      text: `${t.label}${t.actions.length ? ` / ${t.actions.join(', ')}` : ''}`,
      kind: 'internal',
      transition: t.id,
      event: t.event,
    })),
    ...(state.exit.length ? [{ text: `exit / ${state.exit.join(', ')}`, kind: 'exit' } as Row] : []),
  ];
}

function headerWidth(state: StateVertex, rows: Row[], isRoot: boolean): number {
  const title = textWidth(isRoot ? `machine ${state.key}` : state.key, m.titleSize);
  const widest = Math.max(title, ...rows.map((row) => textWidth(row.text, m.rowSize)));
  return widest + 2 * m.padX;
}

const headerHeight = (rows: Row[]) => m.titleHeight + rows.length * m.rowHeight + (rows.length ? m.rowGap : 0);

/**
 * Where ELK wants an edge defined: the nearest state containing both ends, counting a state as
 * containing itself (an edge from a compound state to its own child lives in that state); a
 * self-loop lives in its state's parent.
 */
function edgeContainer(source: string, target: string, parents: Map<string, string | null>): string {
  if (source === target) return parents.get(source) ?? source;
  const around = new Set<string>();
  for (let p: string | null | undefined = source; p !== null && p !== undefined; p = parents.get(p)) around.add(p);
  for (let p: string | null | undefined = target; p !== null && p !== undefined; p = parents.get(p)) {
    if (around.has(p)) return p;
  }
  return '';
}

const edgeLabel = (lines: string[]): ElkLabel => ({
  text: lines.join('\n'),
  width: Math.max(...lines.map((line) => textWidth(line, m.labelSize))) + 2 * m.labelPad,
  height: lines.length * m.labelHeight + m.labelPad,
});

export async function layoutGraph(graph: MachineGraph): Promise<LaidOutGraph> {
  const parents = new Map(graph.states.map((s) => [s.path, s.parent]));
  const order = new Map(graph.states.map((s, index) => [s.path, index]));
  const internal = new Map<string, TransitionEdge[]>();
  for (const t of graph.transitions) {
    if (t.targets.length === 0) internal.set(t.source, [...(internal.get(t.source) ?? []), t]);
  }
  const rows = new Map(graph.states.map((s) => [s.path, rowsOf(s, internal.get(s.path) ?? [])]));
  const elkNodes = new Map<string, ElkNode>();

  for (const state of graph.states) {
    const stateRows = rows.get(state.path) ?? [];
    const isRoot = state.parent === null;
    const hasChildren = state.kind === 'compound' || state.kind === 'parallel';
    const width = headerWidth(state, stateRows, isRoot);
    const node: ElkNode = {
      id: stateId(state.path),
      children: [],
      edges: [],
      layoutOptions: hasChildren
        ? {
            'elk.padding': `[top=${headerHeight(stateRows) + m.padY},left=${m.padX},bottom=${m.padY},right=${m.padX}]`,
            'elk.nodeSize.constraints': 'MINIMUM_SIZE',
            'elk.nodeSize.minimum': `(${width},${headerHeight(stateRows) + 2 * m.padY})`,
          }
        : {},
      ...(hasChildren ? {} : { width, height: headerHeight(stateRows) + m.padY }),
    };
    elkNodes.set(state.path, node);
    if (state.kind === 'compound') node.children!.push({ id: initialId(state.path), width: m.initialSize, height: m.initialSize });
    if (state.parent !== null) elkNodes.get(state.parent)!.children!.push(node);
  }

  const bundles = new Map<
    string,
    { edge: ElkExtendedEdge; source: string; target: string; initial: boolean; transitions: string[]; lines: EdgeLine[] }
  >();
  for (const transition of graph.transitions) {
    const initial = transition.kind === 'initial';
    for (const target of transition.targets) {
      const key = `${initial ? 'initial' : 'event'}|${transition.source}|${target}`;
      let bundle = bundles.get(key);
      if (!bundle) {
        const edge: ElkExtendedEdge = {
          id: `e${bundles.size}`,
          sources: [initial ? initialId(transition.source) : stateId(transition.source)],
          targets: [stateId(target)],
          // Cycle breaking reverses low-priority edges first: make those the ones that go back to
          // a state written earlier (ready → routing), so the chart reads top-down as written.
          layoutOptions: {
            'elk.layered.priority.direction': (order.get(target) ?? 0) > (order.get(transition.source) ?? 0) || initial ? '10' : '0',
          },
        };
        const container = initial ? transition.source : edgeContainer(transition.source, target, parents);
        elkNodes.get(container)!.edges!.push(edge);
        bundle = { edge, source: transition.source, target, initial, transitions: [], lines: [] };
        bundles.set(key, bundle);
      }
      bundle.transitions.push(transition.id);
      if (!initial)
        bundle.lines.push({ text: transition.label, transition: transition.id, kind: transition.kind, event: transition.event });
    }
  }
  for (const bundle of bundles.values()) {
    if (bundle.lines.length) bundle.edge.labels = [edgeLabel(bundle.lines.map((line) => line.text))];
  }

  const root: ElkNode = {
    id: 'graph',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.nodeNode': '28',
      'elk.spacing.edgeLabel': '4',
      'elk.spacing.edgeNode': '14',
      'elk.spacing.edgeEdge': '10',
      'elk.layered.spacing.edgeNodeBetweenLayers': '14',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
      'elk.padding': '[top=4,left=4,bottom=4,right=4]',
    },
    children: [elkNodes.get('')!],
    edges: [],
  };

  const laid = await (await loadElk()).layout(root);
  return collect(graph, laid, rows, [...bundles.values()]);
}

function collect(
  graph: MachineGraph,
  laid: ElkNode,
  rows: Map<string, Row[]>,
  bundles: { edge: ElkExtendedEdge; source: string; target: string; initial: boolean; transitions: string[]; lines: EdgeLine[] }[],
): LaidOutGraph {
  const shapes = new Map<string, ElkNode>();
  const edges = new Map<string, ElkExtendedEdge>();
  const walk = (node: ElkNode) => {
    shapes.set(node.id, node);
    for (const edge of node.edges ?? []) edges.set(edge.id, edge);
    for (const child of node.children ?? []) walk(child);
  };
  walk(laid);

  const box = (shape: { x?: number; y?: number; width?: number; height?: number } | undefined): Box => ({
    x: shape?.x ?? NaN,
    y: shape?.y ?? NaN,
    width: shape?.width ?? NaN,
    height: shape?.height ?? NaN,
  });

  const states = graph.states.map((state): DrawnState => ({
    path: state.path,
    key: state.key,
    kind: state.kind,
    root: state.parent === null,
    rows: rows.get(state.path) ?? [],
    ...box(shapes.get(stateId(state.path))),
  }));
  const initials = graph.states
    .filter((state) => state.kind === 'compound')
    .map((state): DrawnInitial => {
      const shape = box(shapes.get(initialId(state.path)));
      return { parent: state.path, x: shape.x, y: shape.y, size: shape.width };
    });
  const drawn = bundles.map(({ edge, source, target, initial, transitions, lines }): DrawnEdge => {
    const result = edges.get(edge.id);
    const points = (result?.sections ?? []).flatMap((section) => [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]);
    const label = result?.labels?.[0];
    return {
      id: edge.id,
      source,
      target,
      initial,
      transitions,
      lines,
      points: points.map(({ x, y }) => ({ x, y })),
      labelBox: label ? box(label) : null,
    };
  });
  return { id: graph.id, width: laid.width ?? 0, height: laid.height ?? 0, states, edges: drawn, initials };
}
