import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, discordProtocol } from '../src/index.ts';
import {
  defaultSessionStartLimit,
  startChaosGateway,
  type ChaosGateway,
  type ChaosGatewayOptions,
  type SessionStartLimit,
} from '../src/testing/index.ts';
import { shortTimeouts } from './support/realGateway.ts';

const token = 'api-token-51c2';
const servers: ChaosGateway[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: ChaosGatewayOptions = {}): Promise<ChaosGateway> {
  const server = await startChaosGateway({ heartbeatInterval: 10_000, token, ...options });
  servers.push(server);
  return server;
}

const getGatewayBot = (server: ChaosGateway, init: RequestInit = { headers: { authorization: `Bot ${token}` } }) =>
  fetch(`${server.apiUrl}/gateway/bot`, init);

describe('chaos gateway: GET /api/v10/gateway/bot on its own port', () => {
  it('answers the gateway URL, one shard and a fresh session start limit; the URL it gives reaches READY', async () => {
    const server = await start();
    expect(server.apiUrl).toBe(`http://127.0.0.1:${server.port}/api/v10`);
    const response = await getGatewayBot(server);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as { url: string; shards: number; session_start_limit: SessionStartLimit };
    expect(body).toEqual({ url: `ws://127.0.0.1:${server.port}`, shards: 1, session_start_limit: defaultSessionStartLimit });

    const gateway = createGateway({
      url: `${body.url}/?v=10&encoding=json`,
      protocol: discordProtocol({ token, intents: 0 }),
      timeouts: shortTimeouts,
    });
    try {
      await gateway.start();
      expect(server.counters.identifies).toBe(1);
    } finally {
      await gateway.stop();
    }
  });

  it('asks its shards and sessionStartLimit functions again on every request', async () => {
    let shards = 2;
    let limit: SessionStartLimit = { total: 1000, remaining: 998, reset_after: 3_600_000, max_concurrency: 16 };
    const server = await start({ gatewayBot: { shards: () => shards, sessionStartLimit: () => limit } });
    expect(await (await getGatewayBot(server)).json()).toMatchObject({ shards: 2, session_start_limit: limit });
    shards = 4;
    limit = { ...limit, remaining: 990 };
    expect(await (await getGatewayBot(server)).json()).toMatchObject({
      shards: 4,
      session_start_limit: { remaining: 990, max_concurrency: 16 },
    });
  });

  it('takes a fixed shard count too', async () => {
    const server = await start({ gatewayBot: { shards: 3 } });
    expect(await (await getGatewayBot(server)).json()).toMatchObject({ shards: 3 });
  });

  it('refuses what Discord refuses: no or another token 401, another path 404, another method 405; the WebSocket still 426 to plain HTTP', async () => {
    const server = await start();
    expect((await getGatewayBot(server, {})).status).toBe(401);
    expect((await getGatewayBot(server, { headers: { authorization: token } })).status).toBe(401);
    expect((await getGatewayBot(server, { headers: { authorization: 'Bot someone-else' } })).status).toBe(401);
    const notFound = await fetch(`${server.apiUrl}/users/@me`, { headers: { authorization: `Bot ${token}` } });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({ message: '404: Not Found', code: 0 });
    expect((await getGatewayBot(server, { method: 'POST', headers: { authorization: `Bot ${token}` } })).status).toBe(405);
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(426);
  });

  it('takes any Bot credential when the server was given no token', async () => {
    const server = await start({ token: undefined });
    expect((await getGatewayBot(server, { headers: { authorization: 'Bot anything' } })).status).toBe(200);
    expect((await getGatewayBot(server, { headers: { authorization: 'Bearer anything' } })).status).toBe(401);
  });

  it('answers 500 with the reason when a supplier throws or gives a bad count, and keeps serving', async () => {
    let fail = true;
    const server = await start({
      gatewayBot: {
        sessionStartLimit: () => {
          if (fail) throw new Error('budget store unavailable');
          return defaultSessionStartLimit;
        },
      },
    });
    const failed = await getGatewayBot(server);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ message: '500: budget store unavailable', code: 0 });
    fail = false;
    expect((await getGatewayBot(server)).status).toBe(200);

    const badCount = await start({ gatewayBot: { shards: () => 0 } });
    expect(await (await getGatewayBot(badCount)).json()).toMatchObject({
      message: expect.stringContaining('gatewayBot.shards() returned 0'),
    });
  });

  it('rejects bad gatewayBot options at start with a TypeError naming them', async () => {
    await expect(startChaosGateway({ gatewayBot: { shards: 0 } })).rejects.toThrow(
      new TypeError('startChaosGateway: gatewayBot.shards must be a whole number ≥ 1 or a function returning one, got 0'),
    );
    await expect(startChaosGateway({ gatewayBot: { shards: 1.5 } })).rejects.toThrow(TypeError);
    await expect(startChaosGateway({ gatewayBot: { sessionStartLimit: defaultSessionStartLimit as never } })).rejects.toThrow(
      /gatewayBot\.sessionStartLimit must be a function/,
    );
    await expect(startChaosGateway({ gatewayBot: 'yes' as never })).rejects.toThrow(/gatewayBot must be an object/);
  });
});
