import { renderActorTree } from './actors.js';
import { Chart } from './chart.js';
import { FaultPanel } from './faults.js';
import { EventLog } from './log.js';
import { Motion } from './motion.js';
import { renderRecoveries } from './recoveries.js';

// The page: one WebSocket to the inspector server, whose messages drive the charts, the actor
// tree, the event log, the recovery timeline and the fault buttons. On reconnect the server sends
// everything again (`lifeline.init`), so the page simply starts over.

const $ = (id) => document.getElementById(id);

const view = {
  charts: new Map(),
  /** sessionId → actor info from the server, plus `shown` (the frame on display) and `gone` */
  actors: new Map(),
  recoveries: new Map(),
  selected: null,
  contexts: new Map(),
};

const log = new EventLog($('log'), $('log-all'));
const faults = new FaultPanel($('faults'), $('fault-buttons'), $('fault-status'));
const motion = new Motion({
  show(sessionId, frame) {
    const actor = view.actors.get(sessionId);
    if (!actor) return;
    const previous = actor.shown;
    actor.shown = frame;
    if (frame.leaving) actor.gone = true;
    if (actor.machine) {
      const chart = view.charts.get(actor.machine);
      if (chart && previous) chart.fire(frame.event, previous.active);
    }
    refresh();
  },
  gone(sessionId) {
    view.actors.delete(sessionId);
    refresh();
  },
});

$('slow-motion').addEventListener('change', (event) => {
  motion.enabled = event.target.checked;
  motion.tick();
});

let refreshQueued = false;
function refresh() {
  if (refreshQueued) return;
  refreshQueued = true;
  requestAnimationFrame(() => {
    refreshQueued = false;
    for (const chart of view.charts.values()) {
      const live = [...view.actors.values()].filter((a) => a.machine === chart.graph.id && !a.gone && a.shown);
      chart.highlight(live.map((a) => ({ id: a.id, state: a.shown.state, active: a.shown.active, status: a.shown.status })));
    }
    renderActorTree($('actor-tree'), view.actors, view.selected, select);
    showContext();
  });
}

function select(sessionId) {
  view.selected = sessionId;
  refresh();
}

function showContext() {
  const actor = view.selected ? view.actors.get(view.selected) : null;
  $('context-actor').textContent = actor ? `${actor.id} (${actor.sessionId})` : '';
  const context = actor ? view.contexts.get(actor.sessionId) : undefined;
  $('context').textContent = actor ? (context === undefined ? 'no snapshot yet' : JSON.stringify(context, null, 2)) : 'select an actor';
}

const frameOf = (actor, event = '') => ({
  state: actor.state,
  active: actor.active,
  status: actor.status,
  event,
  // Appearing takes no time of its own: the actor's first state (or none, for a socket) is next.
  instant: actor.state === null,
});

function addActor(info) {
  const known = view.actors.get(info.sessionId);
  const actor = { ...info, shown: known?.shown ?? null, gone: false };
  view.actors.set(info.sessionId, actor);
  if (!known || !known.shown) motion.push(info.sessionId, frameOf(info));
  if (!view.selected && info.parent === null) view.selected = info.sessionId;
}

const handlers = {
  'lifeline.init'(message) {
    motion.clear();
    view.actors.clear();
    view.recoveries.clear();
    view.contexts.clear();
    const charts = $('charts');
    charts.replaceChildren();
    view.charts.clear();
    // The gateway (the first machine) on top, then the rest largest first, so small charts pair up.
    const [first, ...rest] = message.graphs;
    const ordered = first ? [first, ...rest.sort((a, b) => b.width * b.height - a.width * a.height)] : [];
    for (const graph of ordered) {
      const chart = new Chart(graph);
      view.charts.set(graph.id, chart);
      charts.appendChild(chart.figure);
    }
    for (const actor of message.actors) addActor(actor);
    if (view.selected && !view.actors.has(view.selected)) view.selected = null;
    log.clear();
    for (const entry of message.log) log.add(entry);
    for (const recovery of message.recoveries) view.recoveries.set(recovery.id, recovery);
    renderRecoveries($('recoveries'), [...view.recoveries.values()]);
    faults.render(message.faults);
    refresh();
  },
  '@xstate.actor'(message) {
    addActor(message.actor);
    refresh();
  },
  '@xstate.snapshot'(message) {
    const { actor: info, snapshot, log: entry } = message;
    const actor = view.actors.get(info.sessionId);
    if (!actor) return;
    Object.assign(actor, { state: info.state, active: info.active, status: info.status });
    view.contexts.set(info.sessionId, snapshot.context);
    log.add(entry);
    motion.push(info.sessionId, frameOf(info, entry.event));
    if (view.selected === info.sessionId) showContext();
  },
  '@xstate.event'(message) {
    // Events to actors that are not machines (socket commands) have no snapshot to log them by.
    const actor = view.actors.get(message.actor);
    if (!actor || actor.machine) return;
    log.add({
      at: message.at,
      actor: actor.sessionId,
      actorId: actor.id,
      event: String(message.event?.type ?? ''),
      from: null,
      to: null,
      changed: false,
    });
  },
  'lifeline.actor.stopped'(message) {
    if (!view.actors.has(message.actor)) return;
    motion.leave(message.actor);
    refresh();
  },
  'lifeline.recovery'(message) {
    view.recoveries.set(message.recovery.id, message.recovery);
    const all = [...view.recoveries.values()].sort((a, b) => a.id - b.id).slice(-50);
    view.recoveries = new Map(all.map((r) => [r.id, r]));
    renderRecoveries($('recoveries'), all);
  },
  'lifeline.fault'(message) {
    faults.update(message);
  },
};

function connect(attempt = 0) {
  const status = $('connection');
  const socket = new WebSocket(new URL('/ws', location.href).href.replace(/^http/, 'ws'));
  socket.addEventListener('open', () => {
    attempt = 0;
    status.dataset.status = 'live';
    status.textContent = 'live';
  });
  socket.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    handlers[message.type]?.(message);
  });
  socket.addEventListener('close', () => {
    status.dataset.status = 'offline';
    status.textContent = 'disconnected, retrying…';
    setTimeout(() => connect(attempt + 1), Math.min(5_000, 500 * 2 ** attempt));
  });
}

connect();
