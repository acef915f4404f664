/**
 * Waits for conditions on a running engine without sleeping in fixed steps: a condition is checked
 * whenever the engine reports something (`notify()`) and every millisecond for what only the
 * server sees. A condition that never comes true within the step timeout is a hang.
 */
export class Waiter {
  private readonly checks = new Set<() => void>();

  constructor(private readonly stepTimeoutMs: number) {}

  notify(): void {
    for (const check of this.checks) check();
  }

  until(predicate: () => boolean, what: string, onHang: (what: string) => never): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        done();
        resolve();
      };
      const poll = setInterval(check, 1);
      const timer = setTimeout(() => {
        done();
        try {
          onHang(`hang: no ${what} within ${this.stepTimeoutMs} ms`);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      }, this.stepTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.checks.delete(check);
      };
      this.checks.add(check);
    });
  }
}
