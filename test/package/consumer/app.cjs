// A CommonJS consumer: require() of the ESM package (Node's require(esm), Node >= 20.19 / 22.12).
const { createGateway, discordProtocol, GatewayError } = require('lifeline-gateway');
const { startChaosGateway } = require('lifeline-gateway/testing');
// The inspector entry loads without elkjs: elkjs is only needed once a chart is laid out.
const { createRedactor } = require('lifeline-gateway/inspector');

async function main() {
  const token = 'consumer-token';
  const server = await startChaosGateway({ token, heartbeatInterval: 5_000 });
  const gateway = createGateway({ url: server.url, protocol: discordProtocol({ token, intents: 513 }) });
  await gateway.start();
  const status = gateway.status;
  const stopped = await gateway.stop();
  await server.close();
  const redacted = createRedactor([token]).text(`token ${token}`);
  console.log(
    JSON.stringify({ status, identifies: server.counters.identifies, stopped: stopped.status, redacted, errorClass: typeof GatewayError }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
