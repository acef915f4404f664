import { afterEach, describe, expect, it } from 'vitest';
import { discordProtocol, superviseGateway, type SupervisedGateway } from '../../src/index.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import { serveInspector } from '../../visualizer/server.ts';
import { listen, token } from './rig.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

async function supervisedOn(server: ChaosGateway): Promise<SupervisedGateway> {
  const supervised = superviseGateway({
    url: server.url,
    protocol: discordProtocol({ token, intents: 513 }),
    timeouts: { connect: 500, hello: 300, ready: 300, drain: 100, terminateGrace: 60, stable: 10_000 },
    backoff: { baseMs: 10, maxMs: 40 },
    supervisor: { maxRestarts: 2, cooldownBaseMs: 10, cooldownMaxMs: 20 },
  });
  open.push({ close: async () => void (await supervised.stop()) });
  return supervised;
}

describe('the inspector on a supervised gateway', () => {
  it("draws the supervisor's chart beside the gateway's, and shows the run's gateway and its actors as the supervisor's descendants", async () => {
    const server = await startChaosGateway({ heartbeatInterval: 200, token });
    open.push({ close: () => server.close() });
    const supervised = await supervisedOn(server);
    const inspector = await serveInspector(supervised, { secrets: [token] });
    open.push(inspector);
    const page = await listen(inspector);
    open.push({ close: async () => page.socket.close() });

    const init = await page.next('lifeline.init');
    expect(init.graphs.map((g) => g.id).sort()).toEqual(['drain', 'freshReconnect', 'gateway', 'resumeReconnect', 'supervisor']);
    expect(init.actors.map((a) => a.machine)).toEqual(['supervisor']);
    const supervisor = init.actors[0]!.sessionId;

    await supervised.start();
    await page.next('@xstate.snapshot', (m) => m.actor.machine === 'gateway' && m.actor.state === 'ready');
    const gateways = page.messages.flatMap((m) => (m.type === '@xstate.actor' && m.actor.machine === 'gateway' ? [m.actor] : []));
    expect(gateways.map((g) => [g.id, g.parent])).toEqual([['gateway', supervisor]]);
    // The run's own actors appear beneath it, in the same tree.
    const first = gateways[0]!.sessionId;
    expect(page.messages.some((m) => m.type === '@xstate.actor' && m.actor.id === 'freshReconnect' && m.actor.parent === first)).toBe(true);

    // The run recovers a lost socket in place: its resume actor appears beneath it.
    const since = page.messages.length;
    server.kill();
    await page.next('@xstate.actor', (m) => m.actor.id === 'resumeReconnect' && m.actor.parent === first, since);
    await page.next('@xstate.snapshot', (m) => m.actor.sessionId === first && m.actor.state === 'ready', since);
    expect(page.raw.some((text) => text.includes(token))).toBe(false);
  });
});
