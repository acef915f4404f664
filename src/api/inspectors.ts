import type { InspectionEvent, Observer } from 'xstate';
import { GatewayError, messageOf } from './errors.ts';

export type InspectOption =
  | Observer<InspectionEvent>
  | ((event: InspectionEvent) => void)
  /** a `@statelyai/inspect` inspector (createBrowserInspector / createWebSocketInspector) */
  | { inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void) };

export function toObserver(inspect: InspectOption | undefined): ((event: InspectionEvent) => void) | undefined {
  if (!inspect) return undefined;
  const target = typeof inspect === 'object' && 'inspect' in inspect ? inspect.inspect : inspect;
  return typeof target === 'function' ? target : (event) => target.next?.(event);
}

/** The inspection observers of one gateway, attached at creation or later; each is an onlooker. */
export class Inspectors {
  readonly #observers = new Set<(event: InspectionEvent) => void>();

  constructor(private readonly report: (error: Error) => void) {}

  add(option: InspectOption | undefined): () => void {
    const observer = toObserver(option);
    if (!observer) throw new TypeError('inspect() needs an observer, a function or a @statelyai/inspect inspector');
    // Wrapped so that the same observer added twice is two subscriptions, each removable.
    const entry = (event: InspectionEvent) => observer(event);
    this.#observers.add(entry);
    return () => void this.#observers.delete(entry);
  }

  notify(event: InspectionEvent): void {
    for (const observer of this.#observers) {
      try {
        observer(event);
      } catch (error) {
        // An inspector's failure must not reach the statechart.
        this.report(new GatewayError('INSPECTOR_THREW', `the inspect observer threw: ${messageOf(error)}`));
      }
    }
  }
}
