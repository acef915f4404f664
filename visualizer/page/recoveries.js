import { clock, element } from './format.js';

// The recovery timeline: one row per recovery, newest first, with the reconnect actors it took and
// its time to READY/RESUMED as a bar (logarithmic, so a 5 ms resume and a 3 s fresh both show).

export function renderRecoveries(list, recoveries) {
  const done = recoveries.filter((r) => r.recoveryMs !== null);
  const slowest = Math.max(1, ...done.map((r) => r.recoveryMs));
  const scale = (ms) => 6 + 94 * (Math.log1p(ms) / Math.log1p(slowest));
  const items = [...recoveries].reverse().map((recovery) => {
    const item = element('li', `recovery outcome-${recovery.outcome ?? 'open'}`);
    item.dataset.recovery = String(recovery.id);
    const head = element('div', 'recovery-head');
    head.append(
      element('span', 'recovery-time', clock(recovery.startedAt)),
      element('span', 'recovery-kinds', recovery.kinds.join(' → ') || '—'),
      element(
        'span',
        'recovery-result',
        recovery.outcome === null
          ? 'recovering…'
          : recovery.recoveryMs !== null
            ? `${recovery.outcome} in ${recovery.recoveryMs} ms`
            : recovery.outcome,
      ),
    );
    const bar = element('div', 'recovery-bar');
    const fill = element('span', `recovery-fill kind-${recovery.kinds.at(-1) ?? 'none'}`);
    fill.style.width = `${recovery.recoveryMs === null ? (recovery.outcome === null ? 100 : 0) : scale(recovery.recoveryMs)}%`;
    bar.appendChild(fill);
    item.append(head, bar, element('div', 'recovery-reason', recovery.reason ?? ''));
    return item;
  });
  list.replaceChildren(...items);
}
