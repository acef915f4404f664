// Slow motion: a recovery on loopback takes a few milliseconds, too fast to see. Every actor's
// state changes go into one queue, in the order they happened, and each is shown for at least
// `dwell` ms, so parent and children replay together (gateway connecting → drain → resume →
// gateway ready). A long backlog is skipped through so the display never drifts far behind.
// The event log does not wait: it is always live.

const sameFrame = (a, b) => a && b && a.state === b.state && a.status === b.status;

export class Motion {
  constructor({ show, gone, dwell = 180, backlog = 24, linger = 1_200 }) {
    this.show = show;
    this.gone = gone;
    this.dwell = dwell;
    this.backlog = backlog;
    this.linger = linger;
    this.enabled = true;
    this.queue = [];
    this.last = new Map();
    this.shownAt = 0;
    this.timers = new Set();
    this.timer = setInterval(() => this.tick(), 30);
  }

  /** `instant` frames (an actor appearing before its first state) take no time of their own. */
  push(sessionId, frame) {
    // Events that leave the state as it was (heartbeats, acks) would only crowd the queue.
    if (sameFrame(this.last.get(sessionId), frame)) return;
    this.last.set(sessionId, frame);
    this.queue.push({ sessionId, frame });
    if (!this.enabled) this.tick();
  }

  /** The actor stopped: once its queued states were shown, it is shown stopped, then removed. */
  leave(sessionId) {
    const last = this.last.get(sessionId) ?? { state: null, active: [], event: '' };
    this.last.delete(sessionId);
    this.queue.push({ sessionId, frame: { ...last, status: 'stopped', leaving: true, instant: true } });
    if (!this.enabled) this.tick();
  }

  clear() {
    this.queue = [];
    this.last.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  tick() {
    const now = performance.now();
    if (this.enabled && now - this.shownAt < this.dwell) return;
    // Behind by too much: catch up at once to half the backlog, then carry on at pace.
    if (this.enabled && this.pending() > this.backlog) {
      while (this.pending() > this.backlog / 2) this.display(this.queue.shift());
    }
    while (this.queue.length) {
      const item = this.queue.shift();
      this.display(item);
      if (this.enabled && !item.frame.instant) {
        this.shownAt = now;
        return;
      }
    }
  }

  /** Frames still to be shown that take time. */
  pending() {
    return this.queue.reduce((count, item) => count + (item.frame.instant ? 0 : 1), 0);
  }

  display({ sessionId, frame }) {
    this.show(sessionId, frame);
    if (!frame.leaving) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.gone(sessionId);
      },
      this.enabled ? this.linger : 0,
    );
    this.timers.add(timer);
  }
}
