import { fetchGatewayBot, type FetchGatewayBotOptions } from '../fleet/gatewayBot.ts';
import { optionChecker } from '../core/validation.ts';

/** `session_start_limit` as the Redis queue needs it: what is left, and when Discord resets it. */
export interface BudgetSnapshot {
  /** `remaining`: IDENTIFYs left in Discord's current period */
  remaining: number;
  /** `reset_after`: ms from the moment it was read until Discord's reset */
  resetAfterMs: number;
}

/**
 * Reads the budget from Discord, afresh on every call (GET /gateway/bot): the queue asks only when
 * the shared count is missing, and anchors the period at the moment the answer arrived, so an
 * answer kept from earlier would be read as newer than it is. `signal` ends the read.
 */
export type BudgetSource = (signal: AbortSignal) => Promise<BudgetSnapshot>;

/** A budget source on GET /gateway/bot. */
export function gatewayBotBudget(options: Omit<FetchGatewayBotOptions, 'signal'>): BudgetSource {
  const check = optionChecker('gatewayBotBudget');
  if (typeof options !== 'object' || options === null) check.fail('options ({ token }) are required');
  check.knownKeys(null, options, ['token', 'baseUrl', 'fetch']);
  if (typeof options.token !== 'string' || options.token.length === 0) check.fail('token must be a non-empty string');
  return async (signal) => {
    const { session_start_limit: limit } = await fetchGatewayBot({ ...options, signal });
    return { remaining: limit.remaining, resetAfterMs: limit.reset_after };
  };
}

/** A source's answer is input from a server: checked like an option, so a bad one is never a grant. */
export function checkBudgetSnapshot(answer: unknown): BudgetSnapshot {
  const check = optionChecker('redisIdentifyQueue: the budget source answered badly');
  if (typeof answer !== 'object' || answer === null) check.fail(`expected { remaining, resetAfterMs }, got ${String(answer)}`);
  const { remaining, resetAfterMs } = answer as Record<string, unknown>;
  return { remaining: check.count('remaining', remaining, 0), resetAfterMs: check.duration('resetAfterMs', resetAfterMs) };
}
