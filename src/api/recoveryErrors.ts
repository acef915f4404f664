import { describeTrigger, isFault, triggerCode, type RecoveryPlan } from '../core/recovery.ts';
import { GatewayError, type GatewayErrorCode, type GatewayErrorDetails } from './errors.ts';

/**
 * The `error` event for a recovery: every fault is one, with its real cause (the OS error of a
 * connection that never opened, the code and reason of a close), and, when the gateway tries
 * again, the number of the next attempt and the wait before it. Requests to reconnect (op 7, op 9,
 * reconnect()) are not errors, and a bad frame was already reported where it was read.
 */
export function recoveryError(plan: RecoveryPlan): GatewayError | undefined {
  const { trigger } = plan;
  if (!isFault(trigger) || trigger.type === 'protocolError') return undefined;
  const code = triggerCode(trigger) as GatewayErrorCode;
  const details: GatewayErrorDetails = {};
  if (trigger.type === 'close') {
    details.closeCode = trigger.code;
    details.closeReason = trigger.reason ?? '';
  }
  if (trigger.type === 'connectFailed') details.cause = { ...trigger.cause };
  if ('message' in plan) return new GatewayError(code, plan.message, details);
  const next = plan.action === 'fresh' ? 'a fresh session' : plan.url === 'main' ? 'a resume on the main URL' : 'a resume';
  const wait = plan.delayMs === undefined ? '' : ` in ${Math.round(plan.delayMs)} ms`;
  return new GatewayError(code, `${describeTrigger(trigger)}; ${next} (attempt ${plan.attempt ?? '?'})${wait}`, {
    ...details,
    attempt: plan.attempt,
    retryInMs: plan.delayMs,
  });
}
