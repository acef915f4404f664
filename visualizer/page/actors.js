import { element } from './format.js';

// The actor tree: gateway → reconnect actors → drain / socket, built from parent links. Actors
// that just stopped stay a moment, struck through, so a short-lived child is seen leaving.

export function renderActorTree(list, actors, selected, onSelect) {
  const children = new Map();
  for (const actor of actors.values()) {
    // In slow motion an actor joins the tree when the replay reaches it.
    if (!actor.shown) continue;
    const parent = actor.parent && actors.has(actor.parent) ? actor.parent : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(actor);
  }
  const build = (parent) => {
    const items = [];
    for (const actor of children.get(parent) ?? []) {
      const item = element('li', `actor${actor.gone ? ' gone' : ''}${actor.sessionId === selected ? ' selected' : ''}`);
      item.dataset.actor = actor.id;
      item.dataset.session = actor.sessionId;
      const row = element('button', 'actor-row');
      row.type = 'button';
      row.append(
        element('span', 'actor-id', actor.id),
        element('span', `actor-kind ${actor.machine ? 'machine' : 'callback'}`, actor.machine ? 'machine' : 'callback'),
        element('span', 'actor-session', actor.sessionId),
        element('span', 'actor-state', actor.machine ? (actor.shown?.state ?? '…') : (actor.shown?.status ?? actor.status)),
      );
      row.addEventListener('click', () => onSelect(actor.sessionId));
      item.appendChild(row);
      const nested = build(actor.sessionId);
      if (nested.length) {
        const ul = element('ul');
        ul.append(...nested);
        item.appendChild(ul);
      }
      items.push(item);
    }
    return items;
  };
  list.replaceChildren(...build(null));
}
