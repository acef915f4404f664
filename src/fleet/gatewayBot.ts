import { optionChecker } from '../core/validation.ts';

/** What `GET /gateway/bot` answers: where to connect, how many shards, and the IDENTIFY budget. */
export interface GatewayBotInfo {
  url: string;
  /** the recommended shard count */
  shards: number;
  session_start_limit: {
    total: number;
    remaining: number;
    /** milliseconds until `remaining` is back to `total` */
    reset_after: number;
    /** IDENTIFYs allowed at once: one per bucket, `shard_id % max_concurrency` */
    max_concurrency: number;
  };
}

export interface FetchGatewayBotOptions {
  token: string;
  /** default `https://discord.com/api/v10`; a test points it at the chaos gateway's HTTP API */
  baseUrl?: string;
  /** default: the global fetch */
  fetch?: typeof fetch;
  /** aborts the request; default: a 10 s timeout */
  signal?: AbortSignal;
}

export const discordApiBase = 'https://discord.com/api/v10';

/** GET /gateway/bot with the bot token. Rejects with a message that says what went wrong. */
export async function fetchGatewayBot(options: FetchGatewayBotOptions): Promise<GatewayBotInfo> {
  const base = (options.baseUrl ?? discordApiBase).replace(/\/+$/, '');
  const request = options.fetch ?? fetch;
  const response = await request(`${base}/gateway/bot`, {
    headers: { Authorization: `Bot ${options.token}` },
    signal: options.signal ?? AbortSignal.timeout(10_000),
  });
  if (response.status === 401) throw new Error('GET /gateway/bot: 401 Unauthorized, the token is invalid');
  if (!response.ok) throw new Error(`GET /gateway/bot: HTTP ${response.status} ${response.statusText}`);
  const body: unknown = await response.json();
  return checkGatewayBotInfo(body);
}

/**
 * The most shards an answer of GET /gateway/bot (or the `shardCount` option) may name. The largest
 * bots run some thousands; this leaves ten times that while refusing an answer that would have
 * one process start millions of shards.
 */
export const maxShardCount = 100_000;

/**
 * The answer of GET /gateway/bot, checked field by field like an option: a server's answer is
 * input too, and a `reset_after` past the longest timer would fire at once and refill a spent
 * budget. Throws a TypeError that names the field.
 */
export function checkGatewayBotInfo(body: unknown): GatewayBotInfo {
  const check = optionChecker('GET /gateway/bot: unexpected answer');
  if (typeof body !== 'object' || body === null) return check.fail('not an object');
  const { url, shards, session_start_limit: limit } = body as Record<string, unknown>;
  if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) check.fail('url is not a ws(s) URL');
  const shardCount = check.count('shards', shards, 1);
  if (shardCount > maxShardCount) check.fail(`shards must be at most ${maxShardCount}, got ${shardCount}`);
  if (typeof limit !== 'object' || limit === null) return check.fail('session_start_limit is missing');
  const { total, remaining, reset_after, max_concurrency } = limit as Record<string, unknown>;
  const checkedTotal = check.count('session_start_limit.total', total, 1);
  const checkedRemaining = check.count('session_start_limit.remaining', remaining, 0);
  if (checkedRemaining > checkedTotal) {
    check.fail(`session_start_limit.remaining (${checkedRemaining}) must not exceed session_start_limit.total (${checkedTotal})`);
  }
  check.duration('session_start_limit.reset_after', reset_after);
  check.count('session_start_limit.max_concurrency', max_concurrency, 1);
  return body as GatewayBotInfo;
}
