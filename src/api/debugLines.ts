import { describeTrigger, type RecoveryPlan } from '../core/recovery.ts';
import type { GatewayStateChange } from './stateReporter.ts';

/**
 * The `debug` stream's lines: one human-readable sentence per lifecycle step, read off what the
 * face already receives from the statechart (recovery plans, reconnect phases, state changes), so
 * the stream adds no event to the machine. Built only when someone listens.
 */

const waits: Record<string, string> = {
  none: 'at once',
  backoff: 'after backoff',
  rateLimited: 'after the rate-limit backoff',
  invalidSession: 'after the INVALID_SESSION wait',
};

/** A fault or request and what the gateway does about it: close code and reason, backoff, drain. */
export function debugLineOfPlan(plan: RecoveryPlan): string {
  const cause = describeTrigger(plan.trigger);
  if ('message' in plan) return `${cause}: giving up (${plan.message})`;
  return `${cause}: ${retryOf(plan)}`;
}

function retryOf(plan: Extract<RecoveryPlan, { action: 'fresh' | 'resume' }>): string {
  const delayMs = Math.round(plan.delayMs ?? 0);
  const wait = delayMs > 0 ? `in ${delayMs} ms (${waits[plan.delay] ?? plan.delay})` : 'at once';
  const attempt = plan.attempt !== undefined ? `, attempt ${plan.attempt}` : '';
  const where = plan.url === 'main' ? ' on the main URL' : '';
  // The first connect has no old socket to drain.
  if (plan.trigger.type === 'start') return `${plan.action === 'fresh' ? 'IDENTIFY' : 'RESUME'}${where} ${wait}`;
  const drain = plan.drain === 'terminate' ? 'terminating the old socket at once' : 'closing the old socket first';
  return `${plan.action === 'fresh' ? 'IDENTIFY anew' : 'RESUME'}${where} ${wait}${attempt}; ${drain}`;
}

/** The running reconnect's phase, as the step it stands for. */
export function debugLineOfPhase(kind: 'fresh' | 'resume', phase: string): string | undefined {
  switch (phase) {
    case 'draining':
      return 'draining the old socket (close handshake, then terminate() if it does not close)';
    case 'waiting':
      return `waiting before the next ${kind === 'fresh' ? 'IDENTIFY' : 'RESUME'} attempt`;
    case 'awaitingTurn':
      return 'waiting for the identify turn (no socket is open meanwhile)';
    case 'handshake.opening':
      return 'opening a socket';
    case 'handshake.awaitingHello':
      return 'socket opened; waiting for HELLO';
    case 'handshake.identifying':
      return 'HELLO received; IDENTIFY sent';
    case 'handshake.resuming':
      return 'HELLO received; RESUME sent';
    default:
      return undefined;
  }
}

/** A change of the gateway's own state: ready, closing, stopped, failed. */
export function debugLineOfState(change: GatewayStateChange): string | undefined {
  switch (change.state) {
    case 'ready':
      return change.handshake === 'resume'
        ? `RESUMED: session ready again${change.replayed !== undefined ? `, ${change.replayed} ${change.replayed === 1 ? 'event' : 'events'} replayed` : ''}`
        : 'READY: session ready';
    case 'closing':
      return `closing the socket (${change.reason ?? 'stop'})`;
    case 'stopped':
      return `stopped (${change.reason ?? 'stop'})`;
    case 'failed':
      return `failed: ${change.failure?.message ?? change.reason ?? 'unknown'}`;
    default:
      return undefined;
  }
}
