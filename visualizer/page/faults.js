import { element } from './format.js';

// Fault buttons: each asks the server to inject one chaos-gateway fault. The header marks the
// request as the page's own; the server refuses fault requests without it.

export class FaultPanel {
  constructor(section, buttons, status) {
    this.section = section;
    this.buttons = buttons;
    this.status = status;
  }

  render(faults) {
    this.section.hidden = faults.length === 0;
    this.buttons.replaceChildren(
      ...faults.map((fault) => {
        const button = element('button', 'fault', fault.label);
        button.type = 'button';
        button.dataset.fault = fault.id;
        if (fault.expect) button.title = `expect: ${fault.expect}`;
        button.addEventListener('click', () => this.inject(fault, button));
        return button;
      }),
    );
  }

  async inject(fault, button) {
    button.disabled = true;
    try {
      const response = await fetch(`/api/faults/${encodeURIComponent(fault.id)}`, {
        method: 'POST',
        headers: { 'x-lifeline-inspector': '1' },
      });
      if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    } catch (error) {
      this.status.textContent = `${fault.label}: ${error.message}`;
      button.disabled = false;
    }
  }

  update(message) {
    const button = this.buttons.querySelector(`[data-fault="${CSS.escape(message.fault)}"]`);
    if (message.status === 'started') {
      for (const other of this.buttons.querySelectorAll('.running')) other.classList.remove('running');
      button?.classList.add('running');
    }
    if (button) {
      const settled = message.status === 'done' || message.status === 'failed';
      button.disabled = !settled;
      if (settled) button.classList.remove('running');
    }
    const verb = { requested: 'queued:', started: '▶', done: 'done:', failed: 'failed:' }[message.status];
    const expect = message.status === 'started' && message.expect ? ` (expect: ${message.expect})` : '';
    this.status.textContent = `${verb} ${message.label}${expect}${message.message ? ` (${message.message})` : ''}`;
    this.status.dataset.status = message.status;
  }
}
