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

/** The answer of GET /gateway/bot, checked field by field. */
export function checkGatewayBotInfo(body: unknown): GatewayBotInfo {
  const fail = (what: string): never => {
    throw new Error(`GET /gateway/bot: unexpected answer, ${what}`);
  };
  if (typeof body !== 'object' || body === null) return fail('not an object');
  const { url, shards, session_start_limit: limit } = body as Record<string, unknown>;
  if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) fail('url is not a ws(s) URL');
  if (!Number.isSafeInteger(shards) || (shards as number) < 1) fail('shards is not a whole number ≥ 1');
  if (typeof limit !== 'object' || limit === null) return fail('session_start_limit is missing');
  const { total, remaining, reset_after, max_concurrency } = limit as Record<string, unknown>;
  for (const [name, value] of Object.entries({ total, remaining, reset_after, max_concurrency })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(`session_start_limit.${name} is not a number ≥ 0`);
  }
  if ((max_concurrency as number) < 1) fail('session_start_limit.max_concurrency is below 1');
  return body as GatewayBotInfo;
}
