// A strict TypeScript consumer of every entry, checked with tsc --noEmit under moduleResolution
// node16 and bundler with the options `tsc --init` sets (exactOptionalPropertyTypes,
// noUncheckedIndexedAccess, verbatimModuleSyntax, skipLibCheck). Compiled only, never run.
import { Agent } from 'node:http';
import { GatewayDispatchEvents, GatewayIntentBits } from 'discord-api-types/v10';
import {
  createGateway,
  defaultUserAgent,
  discordProtocol,
  GatewayError,
  OutboxError,
  superviseGateway,
  type DispatchPayload,
  type Gateway,
  type GatewayOptions,
  type GatewayStateChange,
  type SupervisorStateChange,
  type WsSocketOptions,
} from 'lifeline-gateway';
import { createRedactor, serveInspector, type Inspector, type InspectorOptions } from 'lifeline-gateway/inspector';
import {
  defaultSessionStartLimit,
  startChaosGateway,
  type ChaosGateway,
  type ChaosGatewayOptions,
  type SessionStartLimit,
} from 'lifeline-gateway/testing';

const token: string = process.env.DISCORD_TOKEN ?? 'token';
const socket: WsSocketOptions = {
  headers: { 'User-Agent': `${defaultUserAgent} my-bot` },
  agent: new Agent({ keepAlive: true }),
  maxPayload: 1 << 20,
};
const controller = new AbortController();

const options: GatewayOptions = {
  url: 'wss://gateway.discord.gg/?v=10&encoding=json',
  protocol: discordProtocol({
    token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
    properties: { os: 'linux' },
    identify: { shard: [0, 1], large_threshold: 50 },
  }),
  timeouts: { hello: 30_000, ready: 15_000 },
  backoff: { baseMs: 1_000 },
  outbox: { maxQueued: 100 },
  signal: controller.signal,
  socket,
  allowedResumeHosts: ['*.example.com'],
  inspect: (event) => void event.type,
};

const gateway: Gateway = createGateway(options);
gateway.on('dispatch', (event: DispatchPayload) => {
  if (event.t === GatewayDispatchEvents.MessageCreate) {
    // `t` narrows `d`: no cast to the event's data type
    console.log(event.d.content);
  }
});
gateway.on('state', (change: GatewayStateChange) => {
  const recovery: number | undefined = change.recoveryMs;
  console.log(change.state, change.kind, change.phase, recovery);
});
gateway.on('error', (error) => {
  if (error instanceof GatewayError || error instanceof OutboxError) console.log(error.code);
});

export async function run(): Promise<void> {
  await gateway.start();
  await gateway.reconnect({ fresh: true });
  await gateway.send({ op: 3, d: { status: 'online', since: null, activities: [], afk: false } });
  const output = await gateway.stop();
  if (output.status === 'failed') console.log(output.failure.message);

  const supervised = superviseGateway({ ...options, supervisor: { maxRestarts: 3 } });
  supervised.on('supervisor', (change: SupervisorStateChange) => console.log(change.state, change.restarts));
  await supervised.start();
  await supervised.stop();

  const limit: SessionStartLimit = { ...defaultSessionStartLimit, remaining: 10 };
  const chaosOptions: ChaosGatewayOptions = {
    token,
    heartbeatInterval: 1_000,
    gatewayBot: { shards: () => 2, sessionStartLimit: () => limit },
  };
  const server: ChaosGateway = await startChaosGateway(chaosOptions);
  server.kill();
  server.closeWith(4000, 'bye');
  server.dispatch('MESSAGE_CREATE', { content: 'hi' });
  const apiUrl: string = server.apiUrl;

  const inspectorOptions: InspectorOptions = { port: 0, secrets: [token] };
  const inspector: Inspector = await serveInspector(gateway, inspectorOptions);
  const redact = createRedactor([token]);
  console.log(apiUrl, inspector.url, redact.text(token));
  await inspector.close();
  await server.close();
}
