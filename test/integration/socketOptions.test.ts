import { readFileSync } from 'node:fs';
import { Agent, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, defaultUserAgent, discordProtocol, type Gateway, type GatewayOptions } from '../../src/index.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import { packageVersion } from '../../src/version.ts';
import { shortTimeouts, token } from '../support/realGateway.ts';

/** An http.Agent that records the handshake requests it is given, as a proxy agent would see them. */
class RecordingAgent extends Agent {
  readonly headers: Record<string, unknown>[] = [];

  constructor() {
    super({ keepAlive: false });
    const addRequest = (Agent.prototype as unknown as { addRequest(request: ClientRequest, options: unknown): void }).addRequest;
    Object.assign(this, {
      addRequest: (request: ClientRequest, options: unknown) => {
        this.headers.push(request.getHeaders());
        addRequest.call(this, request, options);
      },
    });
  }
}

const open: { server?: ChaosGateway; gateway?: Gateway; agent?: Agent }[] = [];

afterEach(async () => {
  for (const { gateway, server, agent } of open.splice(0)) {
    await gateway?.stop();
    await server?.close();
    agent?.destroy();
  }
});

async function connectWith(socket: GatewayOptions['socket']) {
  const server = await startChaosGateway({ heartbeatInterval: 10_000, token });
  const gateway = createGateway({ url: server.url, protocol: discordProtocol({ token, intents: 0 }), timeouts: shortTimeouts, socket });
  open.push({ server, gateway, ...(socket?.agent ? { agent: socket.agent } : {}) });
  await gateway.start();
  return { server, gateway };
}

describe('socket options of the default ws client', () => {
  it('opens through the given agent, with the default User-Agent and extra headers, and reaches READY', async () => {
    const agent = new RecordingAgent();
    const { gateway } = await connectWith({ agent, headers: { 'X-Shard-Group': 'blue' } });
    expect(gateway.status).toBe('ready');
    expect(agent.headers).toHaveLength(1);
    expect(agent.headers[0]).toMatchObject({ 'user-agent': defaultUserAgent, 'x-shard-group': 'blue', upgrade: 'websocket' });
    expect(defaultUserAgent).toBe(`DiscordBot (https://www.npmjs.com/package/lifeline-gateway, ${packageVersion})`);
  });

  it('sends the caller’s User-Agent instead of the default, whatever its case', async () => {
    const agent = new RecordingAgent();
    await connectWith({ agent, headers: { 'user-agent': 'DiscordBot (https://example.test, 9.9.9) MyBot' } });
    expect(agent.headers[0]?.['user-agent']).toBe('DiscordBot (https://example.test, 9.9.9) MyBot');
  });

  it('rejects bad socket options at once with a TypeError naming the option', () => {
    const url = 'ws://127.0.0.1:1/';
    const protocol = discordProtocol({ token, intents: 0 });
    const attempt = (socket: unknown) => () => createGateway({ url, protocol, socket: socket as GatewayOptions['socket'] });
    expect(attempt(5)).toThrow(new TypeError('createGateway: socket must be an object { maxPayload, headers, agent }'));
    expect(attempt({ header: {} })).toThrow(/unknown socket option "header" \(known: maxPayload, headers, agent\)/);
    expect(attempt({ headers: 'User-Agent: x' })).toThrow(/socket\.headers must be an object/);
    expect(attempt({ headers: { 'X-Count': 3 } })).toThrow(/socket\.headers\["X-Count"\] must be a string, got number/);
    expect(attempt({ headers: { 'Bad Name': 'x' } })).toThrow(/socket\.headers\["Bad Name"\] is not a valid HTTP header/);
    expect(attempt({ headers: { 'X-Split': 'a\r\nInjected: 1' } })).toThrow(/socket\.headers\["X-Split"\] is not a valid HTTP header/);
    expect(attempt({ agent: {} })).toThrow(/socket\.agent must be an http\.Agent/);
    expect(attempt({ maxPayload: 0 })).toThrow(/socket\.maxPayload must be a positive whole number/);
    for (const thrower of [attempt(5), attempt({ agent: 1 })]) expect(thrower).toThrow(TypeError);
  });

  it('names the version package.json gives', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(packageVersion).toBe(manifest.version);
  });
});
