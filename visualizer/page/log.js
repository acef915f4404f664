import { clock, element } from './format.js';

// The event log, newest first: time, actor, event, and the state it moved the actor from and to.

const maxRows = 400;

export class EventLog {
  constructor(table, showAllToggle) {
    this.body = table.querySelector('tbody');
    this.table = table;
    showAllToggle.addEventListener('change', () => table.classList.toggle('show-all', showAllToggle.checked));
  }

  clear() {
    this.body.replaceChildren();
  }

  add(entry) {
    const row = element('tr', entry.changed ? 'changed' : 'unchanged');
    const move =
      entry.from === null && entry.to === null ? '—' : entry.changed ? `${entry.from ?? '∅'} → ${entry.to ?? '∅'}` : `${entry.to ?? ''}`;
    row.append(
      element('td', 'log-time', clock(entry.at)),
      element('td', 'log-actor', entry.actorId),
      element('td', 'log-event', entry.event || '(always)'),
      element('td', 'log-move', move),
    );
    this.body.prepend(row);
    while (this.body.rows.length > maxRows) this.body.deleteRow(-1);
  }
}
