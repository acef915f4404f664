/**
 * A small bot on lifeline-gateway: asks Discord where to connect, keeps one session alive through
 * whatever the network does, and logs every message it sees. Ctrl-C stops it cleanly.
 *
 *   DISCORD_TOKEN=… npx tsx examples/bot.ts
 *
 * DISCORD_API_URL replaces https://discord.com/api/v10, e.g. with a chaos gateway's `apiUrl`
 * (test/examples/bot.test.ts runs it so, with no network). Message content needs the privileged
 * Message Content intent, switched on for the bot in the Developer Portal.
 */
import { GatewayDispatchEvents, GatewayIntentBits, type RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import { createGateway, discordProtocol } from 'lifeline-gateway';

const token = process.env.DISCORD_TOKEN;
if (!token) {
  console.error('Set DISCORD_TOKEN to your bot token (Developer Portal → your app → Bot → Reset Token).');
  process.exit(1);
}
const api = process.env.DISCORD_API_URL ?? 'https://discord.com/api/v10';

// Where to connect, and how many IDENTIFYs are left today: every IDENTIFY spends one.
const response = await fetch(`${api}/gateway/bot`, { headers: { Authorization: `Bot ${token}` } });
if (!response.ok) {
  console.error(`GET /gateway/bot answered ${response.status}: ${await response.text()}`);
  process.exit(1);
}
const gatewayBot = (await response.json()) as RESTGetAPIGatewayBotResult;
console.log(`gateway ${gatewayBot.url}, ${gatewayBot.session_start_limit.remaining} session starts left today`);

const gateway = createGateway({
  url: `${gatewayBot.url}/?v=10&encoding=json`,
  protocol: discordProtocol({
    token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
  }),
});

gateway.on('state', (change) => {
  if (change.state === 'ready') console.log(`ready (${change.handshake})`);
  else if (change.state === 'connecting' && change.reason && !change.phase) console.log(`reconnecting: ${change.reason}`);
});
gateway.on('error', (error) => console.error(`gateway error: ${error.message}`));
gateway.on('dispatch', (event) => {
  if (event.t !== GatewayDispatchEvents.MessageCreate) return;
  const message = event.d;
  console.log(`MESSAGE_CREATE #${message.channel_id} ${message.author.username}: ${message.content}`);
});

const stop = async () => {
  const output = await gateway.stop();
  console.log(output.status === 'stopped' ? 'stopped' : `failed: ${output.failure.message}`);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

try {
  await gateway.start();
} catch (error) {
  // start() rejects when the gateway fails before READY (a bad token is close code 4004).
  console.error(`could not connect: ${(error as Error).message}`);
  process.exitCode = 1;
}
