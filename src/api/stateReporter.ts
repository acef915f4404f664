import type { AnyMachineSnapshot } from 'xstate';
import type { GatewayContext, GatewayFailure } from '../machines/gatewayMachine.ts';
import { flatten } from '../core/stateValue.ts';
import { describeTrigger, triggerCode, type RecoveryPlan, type TriggerCode } from '../core/recovery.ts';

/** Why a state change happened: a recovery trigger's name, or `STOP` for a requested stop. */
export type StateChangeCode = TriggerCode | 'STOP';

export type GatewayStatus = 'idle' | 'connecting' | 'ready' | 'closing' | 'stopped' | 'failed';

export interface GatewayStateChange {
  state: GatewayStatus;
  /** while connecting: which reconnect actor runs */
  kind?: 'fresh' | 'resume';
  /** while connecting: the reconnect actor's own state, e.g. `draining` or `handshake.awaitingHello` */
  phase?: string;
  /** why the gateway is connecting */
  reason?: string;
  /**
   * the same reason as a name, as in GatewayError `code` (e.g. `SOCKET_CLOSED`, `HELLO_TIMEOUT`,
   * `START`); `STOP` while closing and once stopped by stop() (or the abort signal)
   */
  code?: StateChangeCode;
  /** at ready: the handshake that made it ready, and the time since the fault or request */
  handshake?: 'identify' | 'resume';
  recoveryMs?: number;
  /** at ready after a RESUME: the events the server replayed that had not been delivered yet */
  replayed?: number;
  failure?: GatewayFailure;
  generation: number;
}

export { flatten };

export function statusOf(value: unknown): GatewayStatus {
  const top = flatten(value).split('.')[0];
  return top === 'routing' ? 'connecting' : (top as GatewayStatus);
}

/**
 * Turns the statechart's snapshots into `state` events: one per change of the gateway's state or
 * of the running reconnect's phase, each with the reason of the recovery in progress and, at
 * ready, the time it took.
 */
export class StateReporter {
  #lastKey = '';
  #reason: string | undefined;
  #code: TriggerCode | undefined;
  #faultAt: number | undefined;

  constructor(private readonly publish: (change: GatewayStateChange) => void) {}

  plan(plan: RecoveryPlan): void {
    this.#reason = describeTrigger(plan.trigger);
    this.#code = triggerCode(plan.trigger);
    this.#faultAt ??= performance.now();
  }

  /** A phase of the running reconnect, as the statechart emits it. */
  reconnectPhase({ kind, phase, generation }: { kind: 'fresh' | 'resume'; phase: string; generation: number }): void {
    this.#emit({
      state: 'connecting',
      kind,
      phase,
      reason: this.#reason,
      code: this.#code,
      generation,
    });
  }

  /**
   * Reports a gateway snapshot. On the entry into `ready`, `onReady` runs before the event goes out,
   * so that a listener that reacts to it (say, with reconnect()) starts from the new state.
   */
  gateway(snapshot: AnyMachineSnapshot, onReady: () => void): void {
    const status = statusOf(snapshot.value);
    const context = snapshot.context as GatewayContext;
    if (status === 'ready') {
      if (this.#lastKey.startsWith('ready|')) return;
      onReady();
      const recoveryMs = this.#faultAt === undefined ? undefined : Math.round(performance.now() - this.#faultAt);
      this.#faultAt = undefined;
      this.#emit({
        state: 'ready',
        handshake: context.lastHandshake ?? undefined,
        recoveryMs,
        reason: this.#reason,
        code: this.#code,
        generation: context.generation,
      });
      return;
    }
    // `connecting` is reported from the reconnect actor's own snapshots, with its phase.
    if (status === 'connecting') return;
    // Closing or stopped with no failure is a requested stop: its reason is the stop, not the
    // fault the gateway had recovered from before it.
    const requested = (status === 'closing' || status === 'stopped') && !context.failure;
    this.#emit({
      state: status,
      failure: context.failure ?? undefined,
      reason: requested ? (context.keepSession ? 'stop({ keepSession: true }) requested' : 'stop requested') : this.#reason,
      code: requested ? 'STOP' : this.#code,
      generation: context.generation,
    });
  }

  #emit(change: GatewayStateChange): void {
    const key = `${change.state}|${change.kind ?? ''}|${change.phase ?? ''}|${change.generation}`;
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    this.publish(change);
  }
}
