/**
 * Settles as `work` does, or rejects with `timedOut()` once `timeoutMs` has passed: a call into
 * code or a server that may never answer (a session store, Redis) becomes a rejection within the
 * bound. What `work` answers after that is dropped.
 */
export function settleWithin<T>(work: Promise<T>, timeoutMs: number, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut()), timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
