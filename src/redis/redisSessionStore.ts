import { checkShardId, checkStoredSession, parseStoredSession } from '../fleet/storedSession.ts';
import type { SessionStore } from '../fleet/types.ts';
import { bounded, checkRedisOptions, type RedisClient } from './commands.ts';
import { defaultRedisSessionTtlMs, defaultRedisTimeoutMs } from '../core/defaults.ts';
import { optionChecker } from '../core/validation.ts';

export interface RedisSessionStoreOptions {
  redis: RedisClient;
  /** namespaces the keys (`{prefix}:session:<shardId>`) */
  prefix: string;
  /** a stored session expires this long after its last write (default 5 minutes, about as long as Discord keeps it resumable) */
  ttlMs?: number;
  /** bound on each Redis call (default 2000 ms) */
  timeoutMs?: number;
}

/**
 * Sessions in Redis, shared by every process of a bot, so a replacement process (a deploy, a crash)
 * resumes its shards. Each write refreshes the TTL, and the store declares it (`ttlMs`) so that a
 * running shard rewrites its session well within it even when no event moves it; a fleet that
 * stopped lets its sessions expire as Discord does. Calls are bounded in time and reject when Redis is away: the caller (a
 * session recorder) reports and retries, and a shard that cannot read its session identifies.
 */
export function redisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const where = 'redisSessionStore';
  const check = optionChecker(where);
  if (typeof options !== 'object' || options === null) check.fail('options are required');
  check.knownKeys(null, options, ['redis', 'prefix', 'ttlMs', 'timeoutMs']);
  const { redis, prefix } = options;
  checkRedisOptions(where, redis, prefix);
  const ttlMs = Math.ceil(check.duration('ttlMs', options.ttlMs ?? defaultRedisSessionTtlMs, { min: 1 }));
  const timeoutMs = check.duration('timeoutMs', options.timeoutMs ?? defaultRedisTimeoutMs, { min: 1 });
  const key = (shardId: number) => `{${prefix}}:session:${shardId}`;

  return {
    ttlMs,
    async get(shardId) {
      checkShardId(shardId, `${where}.get`);
      const text = await bounded(redis.get(key(shardId)), timeoutMs);
      if (text === null) return null;
      try {
        return parseStoredSession(JSON.parse(text));
      } catch {
        return null;
      }
    },
    async set(shardId, session) {
      checkShardId(shardId, `${where}.set`);
      checkStoredSession(session, `${where}.set`);
      if (session === null) await bounded(redis.del(key(shardId)), timeoutMs);
      else await bounded(redis.set(key(shardId), JSON.stringify(session), 'PX', ttlMs), timeoutMs);
    },
  };
}
