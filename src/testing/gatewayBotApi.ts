import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewaySessionStartLimit, RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';

/**
 * `GET /api/v10/gateway/bot` on the chaos gateway's own port, so that a bot which asks Discord's
 * REST API where to connect (as it should) can run against the chaos gateway with only its base
 * URL changed. The shard count and the session start limit are asked for on every request, so a
 * test (or a shard manager's identify budget) can move them while the server runs.
 */

export interface GatewayBotOptions {
  /** the recommended shard count answered; a function is asked on every request; default 1 */
  shards?: number | (() => number);
  /** `session_start_limit`, asked for on every request; default {@link defaultSessionStartLimit} */
  sessionStartLimit?: () => APIGatewaySessionStartLimit;
}

export type SessionStartLimit = APIGatewaySessionStartLimit;

/** A fresh day's budget for a small bot, as Discord gives one. */
export const defaultSessionStartLimit: SessionStartLimit = { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 1 };

export const gatewayBotPath = '/api/v10/gateway/bot';

/** Throws a TypeError naming the option, at start rather than on the first request. */
export function checkGatewayBotOptions(options: GatewayBotOptions | undefined): void {
  if (options === undefined) return;
  const fail = (message: string): never => {
    throw new TypeError(`startChaosGateway: ${message}`);
  };
  if (typeof options !== 'object' || options === null) fail('gatewayBot must be an object { shards, sessionStartLimit }');
  const { shards, sessionStartLimit } = options;
  if (shards !== undefined && typeof shards !== 'function' && !isShardCount(shards)) {
    fail(`gatewayBot.shards must be a whole number ≥ 1 or a function returning one, got ${String(shards)}`);
  }
  if (sessionStartLimit !== undefined && typeof sessionStartLimit !== 'function') {
    fail('gatewayBot.sessionStartLimit must be a function returning { total, remaining, reset_after, max_concurrency }');
  }
}

/**
 * Answers a plain HTTP request if it is for the API; returns false for anything else, which the
 * transport then refuses as before. `token`: when set, only `Authorization: Bot <token>` is let in,
 * as IDENTIFY with another token is refused; without it any `Bot …` credential is.
 */
export function answerGatewayBot(
  request: IncomingMessage,
  response: ServerResponse,
  options: { gatewayBot?: GatewayBotOptions | undefined; token?: string | undefined },
  gatewayUrl: string,
): boolean {
  const path = new URL(request.url ?? '/', 'http://chaos').pathname;
  if (!path.startsWith('/api/')) return false;
  if (path !== gatewayBotPath) return replyJson(response, 404, { message: '404: Not Found', code: 0 });
  if (request.method !== 'GET') return replyJson(response, 405, { message: '405: Method Not Allowed', code: 0 });
  if (!authorized(request.headers.authorization, options.token)) return replyJson(response, 401, { message: '401: Unauthorized', code: 0 });
  let body: RESTGetAPIGatewayBotResult;
  try {
    const { shards = 1, sessionStartLimit = () => defaultSessionStartLimit } = options.gatewayBot ?? {};
    const count = typeof shards === 'function' ? shards() : shards;
    if (!isShardCount(count)) throw new TypeError(`gatewayBot.shards() returned ${String(count)}, not a whole number ≥ 1`);
    body = { url: gatewayUrl, shards: count, session_start_limit: { ...sessionStartLimit() } };
  } catch (error) {
    return replyJson(response, 500, { message: `500: ${error instanceof Error ? error.message : String(error)}`, code: 0 });
  }
  return replyJson(response, 200, body);
}

function authorized(header: string | undefined, token: string | undefined): boolean {
  if (header === undefined || !header.startsWith('Bot ')) return false;
  return token === undefined || header === `Bot ${token}`;
}

function isShardCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function replyJson(response: ServerResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
  return true;
}
