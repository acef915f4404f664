import { GatewayError, messageOf } from './errors.ts';

/**
 * Named listener sets with delivery that cannot hurt the engine: a listener that throws is
 * reported on `error`, and an `error` listener that throws is ignored.
 */
export class Listeners<Events extends { error: Error }> {
  readonly #sets = new Map<keyof Events, Set<(value: never) => void>>();

  constructor(names: readonly (keyof Events)[]) {
    for (const name of names) this.#sets.set(name, new Set());
  }

  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): () => void {
    const set = this.#sets.get(event);
    if (!set) {
      const known = [...this.#sets.keys()].map((name) => `'${String(name)}'`).join(', ');
      throw new TypeError(`unknown event ${JSON.stringify(event)}: use ${known}`);
    }
    const entry = listener as (value: never) => void;
    set.add(entry);
    return () => void set.delete(entry);
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const listener of this.#sets.get(event) ?? []) {
      try {
        (listener as (value: Events[K]) => void)(value);
      } catch (error) {
        if (event === 'error') continue; // an error handler that throws has nowhere left to report to
        this.emit('error', new GatewayError('LISTENER_THREW', `a ${String(event)} listener threw: ${messageOf(error)}`) as Events['error']);
      }
    }
  }
}
