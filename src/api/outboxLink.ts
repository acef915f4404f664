import type { GatewayOutput } from '../machines/gatewayMachine.ts';
import type { RecoveryPlan } from '../core/recovery.ts';
import { Outbox, OutboxError, type OutboxOptions } from '../outbox.ts';
import { defaultOutboxOptions } from '../core/defaults.ts';

export interface TimerClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now?(): number;
}

const realClock: TimerClock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The outbox of one gateway, tied to its lifecycle: written through the statechart while ready,
 * held across a resume, rejected when a fresh session or the end of the gateway makes the queued
 * payloads meaningless. Writes are confirmed by the socket actor through `confirm`.
 */
export function linkOutbox(options: {
  limits?: Partial<OutboxOptions>;
  clock?: TimerClock;
  isReady: () => boolean;
  write: (data: string, id: number) => void;
  /**
   * whether a session is ready, or was and may resume (the gateway tracks it; asked when a plan
   * comes). Payloads queued before the first READY belong to no session yet: a failed first
   * connect keeps them.
   */
  hadSession: () => boolean;
}) {
  const clock = options.clock ?? realClock;
  const pending = new Map<number, (error?: Error, retry?: boolean) => void>();
  let nextId = 1;
  const outbox = new Outbox(
    { ...defaultOutboxOptions, ...options.limits },
    {
      write: (data, done) => {
        if (!options.isReady()) return false;
        const id = nextId++;
        pending.set(id, done);
        options.write(data, id);
        return true;
      },
      // A simulated clock keeps the send window in simulated time too.
      now: () => clock.now?.() ?? performance.now(),
      setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
      clearTimeout: (handle) => clock.clearTimeout(handle),
    },
  );

  return {
    outbox,
    confirm(id: number, error?: Error, retry?: boolean) {
      const done = pending.get(id);
      pending.delete(id);
      done?.(error, retry);
    },
    onPlan(plan: RecoveryPlan) {
      if (plan.action === 'fresh' && options.hadSession()) {
        outbox.rejectAll(new OutboxError('SESSION_RESET', 'a fresh session replaced the one this payload was queued for'));
      } else outbox.pause();
    },
    onReady() {
      outbox.open();
    },
    onEnd(output: GatewayOutput | undefined) {
      outbox.close(
        output?.status === 'failed'
          ? new OutboxError('FAILED', `the gateway has failed; the payload was not sent: ${output.failure.message}`)
          : new OutboxError('STOPPED', 'the gateway has stopped; the payload was not sent'),
      );
      // Handed to the socket but not confirmed: it may have gone out, so this is SEND_FAILED, not STOPPED.
      for (const done of pending.values())
        done(new Error('the gateway ended before the socket confirmed the write; it may have been sent'));
      pending.clear();
    },
  };
}
