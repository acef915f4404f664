// A plain ESM consumer: the engine and the chaos gateway from the installed package, READY, stop.
import { createGateway, discordProtocol } from 'lifeline-gateway';
import { startChaosGateway } from 'lifeline-gateway/testing';

const token = 'consumer-token';
const server = await startChaosGateway({ token, heartbeatInterval: 5_000 });
const gateway = createGateway({ url: server.url, protocol: discordProtocol({ token, intents: 513 }) });
await gateway.start();
const status = gateway.status;
const stopped = await gateway.stop();
await server.close();
console.log(JSON.stringify({ status, identifies: server.counters.identifies, stopped: stopped.status }));
