/**
 * Callers waiting for the gateway to become ready: start() and reconnect(). A waiter is due at the
 * first READY/RESUMED after it began waiting; a forced fresh reconnect waits for a READY that
 * followed an IDENTIFY.
 */
export class ReadyWaiters {
  #readyCount = 0;
  #waiters: { after: number; needsIdentify: boolean; resolve: () => void; reject: (error: Error) => void }[] = [];

  wait(needsIdentify: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ after: this.#readyCount, needsIdentify, resolve, reject });
    });
  }

  ready(handshake: 'identify' | 'resume' | null): void {
    this.#readyCount += 1;
    const due = this.#waiters.filter((w) => this.#readyCount > w.after && (!w.needsIdentify || handshake === 'identify'));
    this.#waiters = this.#waiters.filter((w) => !due.includes(w));
    for (const waiter of due) waiter.resolve();
  }

  rejectAll(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}
