import { GatewayError, messageOf } from './errors.ts';

/**
 * Named listener sets with delivery that cannot hurt the engine: a listener that throws is
 * reported on `error`, and an `error` listener that throws is ignored.
 */
export class Listeners<Events extends { error: Error }, Extra = void> {
  // Arrays replaced on (un)subscribe, not Sets: emit runs once per DISPATCH frame, subscribing rarely.
  readonly #lists = new Map<keyof Events, ((value: never, extra: never) => void)[]>();

  constructor(names: readonly (keyof Events)[]) {
    for (const name of names) this.#lists.set(name, []);
  }

  /** `extra` is what every event of this set carries besides its value (a fleet: the shard id). */
  on<K extends keyof Events>(event: K, listener: (value: Events[K], extra: Extra) => void): () => void {
    const list = this.#lists.get(event);
    if (!list) {
      const known = [...this.#lists.keys()].map((name) => `'${String(name)}'`).join(', ');
      throw new TypeError(`unknown event ${JSON.stringify(event)}: use ${known}`);
    }
    const entry = listener as (value: never, extra: never) => void;
    this.#lists.set(event, [...list, entry]);
    return () => {
      const current = this.#lists.get(event) ?? [];
      const index = current.indexOf(entry);
      if (index !== -1) this.#lists.set(event, [...current.slice(0, index), ...current.slice(index + 1)]);
    };
  }

  /** Whether `event` has a listener: lets a caller skip building a value nobody receives. */
  has(event: keyof Events): boolean {
    return (this.#lists.get(event)?.length ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, value: Events[K], extra: Extra): void {
    const list = this.#lists.get(event) as ((value: Events[K], extra: Extra) => void)[] | undefined;
    if (!list) return;
    for (const listener of list) {
      try {
        listener(value, extra);
      } catch (error) {
        if (event === 'error') continue; // an error handler that throws has nowhere left to report to
        const thrown = new GatewayError('LISTENER_THREW', `a ${String(event)} listener threw: ${messageOf(error)}`);
        this.emit('error', thrown, extra);
      }
    }
  }
}
