// A CommonJS TypeScript consumer: its imports compile to require() of the ESM package, which
// TypeScript accepts under module nodenext (5.8+), as Node does from 20.19 / 22.12.
import { createGateway, discordProtocol, type Gateway } from 'lifeline-gateway';
import { startChaosGateway, type ChaosGateway } from 'lifeline-gateway/testing';

export async function run(): Promise<{ server: ChaosGateway; gateway: Gateway }> {
  const server = await startChaosGateway({ token: 'token' });
  const gateway = createGateway({
    url: server.url,
    protocol: discordProtocol({ token: 'token', intents: 0 }),
    socket: { maxPayload: 1 << 20 },
  });
  return { server, gateway };
}
