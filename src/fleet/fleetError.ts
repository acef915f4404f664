import type { IdentifyNotice } from './types.ts';

export type FleetErrorCode =
  /** the daily IDENTIFY budget is spent: the shard waits for the reset (`retryInMs`) */
  | 'IDENTIFY_BUDGET_EXHAUSTED'
  /** the identify coordinator (Redis) did not answer: the shard tries again in `retryInMs` */
  | 'COORDINATOR_UNAVAILABLE'
  /** a session could not be written to or read from the session store */
  | 'SESSION_STORE_FAILED'
  /** send() or reconnect() named a shard this manager does not run */
  | 'UNKNOWN_SHARD'
  /** GET /gateway/bot failed, so the fleet could not start */
  | 'GATEWAY_INFO_FAILED';

/** An error about a fleet or one of its shards; `shardId` is null when it concerns the whole fleet. */
export class FleetError extends Error {
  override readonly name = 'FleetError';
  constructor(
    readonly code: FleetErrorCode,
    message: string,
    readonly shardId: number | null,
    /** when the wait it reports ends, for the identify queue's notices */
    readonly retryInMs?: number,
  ) {
    super(shardId === null ? message : `shard ${shardId}: ${message}`);
  }

  static fromNotice(notice: IdentifyNotice, shardId: number): FleetError {
    if (notice.code === 'IDENTIFY_BUDGET_EXHAUSTED') {
      const minutes = Math.ceil(notice.retryAfterMs / 60_000);
      return new FleetError(
        notice.code,
        `the daily IDENTIFY budget is spent; waiting ${minutes} min for it to reset`,
        shardId,
        notice.retryAfterMs,
      );
    }
    return new FleetError(
      notice.code,
      `the identify coordinator did not answer (${notice.cause.message}); retrying in ${notice.retryInMs} ms`,
      shardId,
      notice.retryInMs,
    );
  }
}
