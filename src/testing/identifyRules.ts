import type { SessionStartLimit } from './gatewayBotApi.ts';

/**
 * Discord's rules for starting sessions, as the chaos gateway enforces them: one IDENTIFY per
 * bucket (`shard_id % max_concurrency`) per window, shards of a bucket started in order, and a
 * daily budget of IDENTIFYs shared by every shard. A breach is answered with op 9 and recorded, so
 * a test can assert that a fleet never committed one.
 */

export interface FleetRulesOptions {
  /** IDENTIFYs allowed at once, one per bucket; default 1 */
  maxConcurrency?: number;
  /** the bucket window in ms; default 5000 */
  identifyWindowMs?: number;
  /** the daily budget; default 1000 a day */
  budget?: { total?: number; remaining?: number; resetAfterMs?: number };
  /**
   * Whether a bucket's shards must start lowest id first (default true). One shard manager starts
   * them so; shards spread over processes that share a Redis queue start in the order they asked.
   */
  startInOrder?: boolean;
}

export type ViolationKind = 'window' | 'order' | 'budget' | 'shard';

export interface IdentifyViolation {
  kind: ViolationKind;
  /** the shard that identified, or null for an unsharded IDENTIFY */
  shard: number | null;
  at: number;
  detail: string;
}

export type ShardField = [number, number];

/** The `shard` field of an IDENTIFY, when it is a valid `[id, count]`. */
export function shardField(value: unknown): ShardField | null | 'invalid' {
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length !== 2) return 'invalid';
  const [id, count] = value as unknown[];
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(count)) return 'invalid';
  if ((count as number) < 1 || (id as number) < 0 || (id as number) >= (count as number)) return 'invalid';
  return [id as number, count as number];
}

/** The shard a guild's events go to: `(guild_id >> 22) % num_shards`. */
export function shardOfGuild(guildId: string | bigint, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

const day = 24 * 60 * 60 * 1000;

export class IdentifyRules {
  readonly maxConcurrency: number;
  readonly windowMs: number;
  readonly startInOrder: boolean;
  readonly violations: IdentifyViolation[] = [];
  /** accepted IDENTIFYs, in order: the shard and when */
  readonly granted: { shard: number | null; at: number }[] = [];
  private readonly lastInBucket = new Map<number, number>();
  /** per bucket, the highest shard id that has identified (for the start-in-order rule) */
  private readonly highestStarted = new Map<number, number>();
  private readonly attempted = new Set<number>();
  private readonly total: number;
  private remaining: number;
  private resetAt: number;

  constructor(options: FleetRulesOptions = {}, now = Date.now()) {
    this.maxConcurrency = options.maxConcurrency ?? 1;
    this.windowMs = options.identifyWindowMs ?? 5000;
    this.startInOrder = options.startInOrder ?? true;
    this.total = options.budget?.total ?? 1000;
    this.remaining = options.budget?.remaining ?? this.total;
    this.resetAt = now + (options.budget?.resetAfterMs ?? day);
  }

  /** Records an IDENTIFY and says whether it is within the rules; a refused one still spends nothing. */
  admit(shard: ShardField | null | 'invalid', now = Date.now()): IdentifyViolation | null {
    this.refill(now);
    if (shard === 'invalid') return this.refuse('shard', null, now, 'the shard field is not a valid [id, count]');
    const id = shard?.[0] ?? 0;
    const bucket = id % this.maxConcurrency;
    // Any attempt is a start, refused or not: a shard that retries after a refusal is not out of order.
    const firstAttempt = !this.attempted.has(id);
    this.attempted.add(id);
    if (this.remaining <= 0) return this.refuse('budget', shard && id, now, 'the daily IDENTIFY budget is spent');
    const last = this.lastInBucket.get(bucket);
    if (last !== undefined && now - last < this.windowMs) {
      return this.refuse('window', shard && id, now, `bucket ${bucket} identified ${now - last} ms ago (window ${this.windowMs} ms)`);
    }
    // A bucket's shards start lowest first; a shard's later IDENTIFYs (after a refusal, or a new
    // session) are not starts.
    const highest = this.highestStarted.get(bucket);
    if (this.startInOrder && firstAttempt && highest !== undefined && id < highest) {
      this.lastInBucket.set(bucket, now);
      this.remaining -= 1;
      return this.refuse('order', id, now, `shard ${id} started after shard ${highest} of bucket ${bucket}`);
    }
    this.highestStarted.set(bucket, Math.max(highest ?? id, id));
    this.lastInBucket.set(bucket, now);
    this.remaining -= 1;
    this.granted.push({ shard: shard && id, at: now });
    return null;
  }

  sessionStartLimit(now = Date.now()): SessionStartLimit {
    this.refill(now);
    return {
      total: this.total,
      remaining: this.remaining,
      reset_after: Math.max(0, this.resetAt - now),
      max_concurrency: this.maxConcurrency,
    };
  }

  private refill(now: number): void {
    if (now < this.resetAt) return;
    this.remaining = this.total;
    this.resetAt = now + day;
  }

  private refuse(kind: ViolationKind, shard: number | null, at: number, detail: string): IdentifyViolation {
    const violation = { kind, shard, at, detail };
    this.violations.push(violation);
    return violation;
  }
}
