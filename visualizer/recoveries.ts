import type { GatewayStateChange } from '../src/index.ts';
import type { Recovery } from './protocol.ts';

/**
 * The recovery timeline, read from the gateway's own `state` events so that the times shown are
 * the ones the engine measured (`recoveryMs`, from the fault or request to READY/RESUMED). A
 * recovery opens at the first `connecting` after a ready session (or at start) and closes at the
 * next `ready`, `failed` or `stopped`; each new generation it passes through adds its kind.
 */
export class RecoveryTimeline {
  readonly #recoveries: Recovery[] = [];
  #nextId = 1;
  readonly #open = new Map<string, { recovery: Recovery; generation: number }>();

  constructor(
    private readonly onChange: (recovery: Recovery) => void,
    private readonly keep = 50,
  ) {}

  get recoveries(): Recovery[] {
    return this.#recoveries.map((recovery) => ({ ...recovery, kinds: [...recovery.kinds] }));
  }

  #add(recovery: Recovery): void {
    this.#recoveries.push(recovery);
    if (this.#recoveries.length > this.keep) this.#recoveries.splice(0, this.#recoveries.length - this.keep);
    this.onChange({ ...recovery, kinds: [...recovery.kinds] });
  }

  record(gateway: string, change: GatewayStateChange, at = Date.now()): void {
    const current = this.#open.get(gateway);
    if (change.state === 'connecting') {
      if (!current) {
        const recovery: Recovery = {
          id: this.#nextId++,
          gateway,
          startedAt: at,
          reason: change.reason ?? null,
          kinds: change.kind ? [change.kind] : [],
          endedAt: null,
          outcome: null,
          recoveryMs: null,
        };
        this.#open.set(gateway, { recovery, generation: change.generation });
        this.#add(recovery);
      } else if (change.generation !== current.generation && change.kind) {
        current.generation = change.generation;
        current.recovery.kinds.push(change.kind);
        this.onChange({ ...current.recovery, kinds: [...current.recovery.kinds] });
      }
      return;
    }
    if (!current && change.state === 'failed') {
      // A fatal close goes straight to `failed` without connecting: it still belongs on the timeline.
      this.#add({
        id: this.#nextId++,
        gateway,
        startedAt: at,
        reason: change.failure?.message ?? change.reason ?? null,
        kinds: [],
        endedAt: at,
        outcome: 'failed',
        recoveryMs: null,
      });
      return;
    }
    if (!current || (change.state !== 'ready' && change.state !== 'failed' && change.state !== 'stopped')) return;
    const { recovery } = current;
    this.#open.delete(gateway);
    recovery.endedAt = at;
    recovery.outcome = change.state === 'ready' ? (change.handshake === 'resume' ? 'RESUMED' : 'READY') : change.state;
    recovery.recoveryMs = change.state === 'ready' ? (change.recoveryMs ?? at - recovery.startedAt) : null;
    this.onChange({ ...recovery, kinds: [...recovery.kinds] });
  }
}
