import type { DispatchPayload } from '../src/index.ts';

interface SessionTally {
  last: number;
  count: number;
  /** woken when `count` reaches a target */
  waiter?: { target: number; wake: () => void };
}

/**
 * Events delivered, per session: a fresh reconnect starts a new session with its own sequence, so
 * deliveries are compared with what the server dispatched for the same session. A finished
 * session is closed and forgotten, so the tally itself does not grow with the soak.
 */
export class DeliveryTally {
  readonly #sessions = new Map<string, SessionTally>();
  delivered = 0;
  duplicated = 0;
  /** delivered with no session, or whose payload disagrees with its sequence number */
  misplaced = 0;

  constructor(private readonly currentSession: () => string | undefined) {}

  deliver(payload: DispatchPayload): void {
    this.delivered += 1;
    const sessionId = this.currentSession();
    if (!sessionId || (payload.d as { seq?: unknown } | null)?.seq !== payload.s) {
      this.misplaced += 1;
      return;
    }
    const tally = this.#sessions.get(sessionId) ?? { last: 0, count: 0 };
    this.#sessions.set(sessionId, tally);
    if (payload.s <= tally.last) {
      this.duplicated += 1;
      return;
    }
    tally.last = payload.s;
    tally.count += 1;
    if (tally.waiter && tally.count >= tally.waiter.target) tally.waiter.wake();
  }

  whenDelivered(sessionId: string, target: number): Promise<void> {
    const tally = this.#sessions.get(sessionId) ?? { last: 0, count: 0 };
    this.#sessions.set(sessionId, tally);
    if (tally.count >= target) return Promise.resolve();
    return new Promise((resolve) => {
      tally.waiter = { target, wake: resolve };
    });
  }

  /** Forgets a finished session and returns how many of its `dispatched` events never arrived. */
  close(sessionId: string, dispatched: number): number {
    const count = this.#sessions.get(sessionId)?.count ?? 0;
    this.#sessions.delete(sessionId);
    // More than the server dispatched can only be events that belong elsewhere.
    if (count > dispatched) this.misplaced += count - dispatched;
    return Math.max(0, dispatched - count);
  }
}
