// Draws one laid-out statechart (from the server's elkjs layout) as SVG, and highlights states.
// Every text goes in through textContent: names come from the server and are never parsed as HTML.

const NS = 'http://www.w3.org/2000/svg';
// Must match visualizer/metrics.ts: the server sized every box for these.
const M = { titleSize: 13, rowSize: 11, labelSize: 11, titleHeight: 22, rowHeight: 15, labelHeight: 14, labelPad: 3, padX: 10 };

function el(name, attributes = {}, parent) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, x, y, content, attributes = {}) {
  const node = el('text', { x, y, ...attributes }, parent);
  node.textContent = content;
  return node;
}

const pathData = (points) => points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' ');

function edgeStyle(lines) {
  if (lines.length && lines.every((line) => line.kind === 'always')) return 'always';
  if (lines.length && lines.every((line) => line.kind === 'after')) return 'after';
  return 'event';
}

export class Chart {
  constructor(graph) {
    this.graph = graph;
    // A machine id may hold any character; an id referenced from url(#…) may not.
    this.markerId = `arrow-${graph.id.replace(/[^\w-]/g, '_')}`;
    this.stateNodes = new Map();
    this.edgeNodes = [];
    this.figure = document.createElement('figure');
    this.figure.className = 'chart idle';
    this.figure.dataset.machine = graph.id;
    this.figure.dataset.state = '';
    const caption = document.createElement('figcaption');
    this.title = document.createElement('strong');
    this.title.textContent = graph.id;
    this.status = document.createElement('span');
    this.status.className = 'chart-status';
    this.status.textContent = 'not running';
    caption.append(this.title, this.status);
    this.figure.appendChild(caption);
    this.svg = this.draw();
    this.figure.appendChild(this.svg);
  }

  draw() {
    const { graph } = this;
    const svg = el('svg', {
      viewBox: `0 0 ${graph.width} ${graph.height}`,
      width: graph.width,
      height: graph.height,
      role: 'img',
      'aria-label': `statechart of ${graph.id}`,
    });
    const defs = el('defs', {}, svg);
    const marker = el(
      'marker',
      { id: this.markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      defs,
    );
    el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }, marker);

    const statesLayer = el('g', { class: 'states' }, svg);
    for (const state of graph.states) this.drawState(statesLayer, state);
    for (const initial of graph.initials) {
      const r = initial.size / 2;
      el('circle', { cx: initial.x + r, cy: initial.y + r, r, class: 'initial' }, statesLayer);
    }
    const edgesLayer = el('g', { class: 'edges' }, svg);
    for (const edge of graph.edges) this.drawEdge(edgesLayer, edge);
    return svg;
  }

  drawState(layer, state) {
    const group = el('g', { class: `state kind-${state.kind}${state.root ? ' root' : ''}`, 'data-path': state.path }, layer);
    el('rect', { x: state.x, y: state.y, width: state.width, height: state.height, rx: state.root ? 10 : 8, class: 'frame' }, group);
    if (state.kind === 'final') {
      el('rect', { x: state.x + 3, y: state.y + 3, width: state.width - 6, height: state.height - 6, rx: 6, class: 'final-ring' }, group);
    }
    const title = state.root ? `machine ${state.key}` : state.key;
    text(group, state.x + M.padX, state.y + 16, title, { class: 'state-title' });
    state.rows.forEach((row, i) => {
      const node = text(group, state.x + M.padX, state.y + M.titleHeight + i * M.rowHeight + 10, row.text, {
        class: `state-row row-${row.kind}`,
      });
      if (row.transition) node.dataset.transition = row.transition;
      if (typeof row.event === 'string') node.dataset.event = row.event;
    });
    const tooltip = el('title', {}, group);
    tooltip.textContent = `${state.path || '(machine)'} · ${state.kind}`;
    this.stateNodes.set(state.path, group);
  }

  drawEdge(layer, edge) {
    if (edge.points.length < 2) return;
    const group = el(
      'g',
      { class: `edge style-${edge.initial ? 'initial' : edgeStyle(edge.lines)}`, 'data-source': edge.source, 'data-target': edge.target },
      layer,
    );
    el('path', { d: pathData(edge.points), class: 'edge-line', 'marker-end': `url(#${this.markerId})` }, group);
    if (edge.labelBox && edge.lines.length) {
      const box = edge.labelBox;
      el('rect', { x: box.x, y: box.y, width: box.width, height: box.height, rx: 3, class: 'edge-label-bg' }, group);
      edge.lines.forEach((line, i) => {
        const node = text(group, box.x + M.labelPad, box.y + M.labelPad + (i + 1) * M.labelHeight - 4, line.text, {
          class: `edge-label kind-${line.kind}`,
        });
        node.dataset.transition = line.transition;
        if (line.event !== null) node.dataset.event = line.event;
      });
    }
    this.edgeNodes.push({ group, edge });
  }

  /** Shows which states are active; `actors` are the live actors of this machine, as displayed. */
  highlight(actors) {
    const active = new Set(actors.flatMap((actor) => actor.active));
    for (const [path, node] of this.stateNodes) node.classList.toggle('active', path !== '' && active.has(path));
    const running = actors.length > 0;
    this.figure.classList.toggle('idle', !running);
    this.figure.dataset.state = actors.map((actor) => actor.state ?? '').join(' | ');
    this.status.textContent = running
      ? actors.map((actor) => `${actor.id} · ${actor.state ?? '…'}${actor.status === 'active' ? '' : ` (${actor.status})`}`).join('   ')
      : 'not running';
  }

  /** Marks the transitions an event just took out of the `from` states. */
  fire(eventType, fromActive) {
    if (!eventType) return;
    const from = new Set(fromActive);
    for (const { group, edge } of this.edgeNodes) {
      if (!from.has(edge.source)) continue;
      const lines = [...group.querySelectorAll('text.edge-label')].filter((node) => node.dataset.event === eventType);
      if (!lines.length) continue;
      flash(group);
      for (const line of lines) flash(line);
    }
    for (const path of from) {
      const node = this.stateNodes.get(path);
      if (!node) continue;
      for (const row of node.querySelectorAll('text.row-internal')) {
        if (row.dataset.event === eventType) flash(row);
      }
    }
  }
}

function flash(node) {
  node.classList.remove('fired');
  // Restarting a CSS animation needs a reflow between removing and adding the class.
  void node.getBoundingClientRect();
  node.classList.add('fired');
}
