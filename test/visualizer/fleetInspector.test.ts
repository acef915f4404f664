import { afterEach, describe, expect, it } from 'vitest';
import { serveInspector } from '../../visualizer/server.ts';
import type { Inspector } from '../../visualizer/server.ts';
import { closeFleets, fleetToken, startFleet, startFleetServer } from '../fleet/support/fleetHarness.ts';
import { listen, type Listener } from './rig.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
  await closeFleets();
});

async function inspect(target: Parameters<typeof serveInspector>[0]): Promise<{ inspector: Inspector; page: Listener }> {
  const inspector = await serveInspector(target, { secrets: [fleetToken] });
  open.push(inspector);
  const page = await listen(inspector);
  open.push({ close: async () => page.socket.close() });
  return { inspector, page };
}

describe('the inspector on a fleet', () => {
  it("draws the manager's chart beside the gateway's, and shows every shard as it starts and recovers", async () => {
    const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
    const h = startFleet(server, { shardCount: 3, identifyWindowMs: 120 });
    const { page } = await inspect(h.fleet);
    const init = await page.next('lifeline.init');
    expect(init.graphs.map((g) => g.id).sort()).toEqual(['drain', 'freshReconnect', 'gateway', 'resumeReconnect', 'shardManager']);
    expect(init.actors.filter((a) => a.parent === null).map((a) => a.machine)).toEqual(['shardManager']);

    await h.fleet.start();
    // Each shard's gateway appears as a root of its own, reaching ready; the manager's shards live in its one child, the shard pool.
    const shardRoots = async () => {
      await page.next('@xstate.snapshot', (m) => m.actor.machine === 'gateway' && m.actor.state === 'ready');
      return page.messages.flatMap((m) =>
        m.type === '@xstate.actor' && m.actor.machine === 'gateway' && m.actor.parent === null ? [m.actor.sessionId] : [],
      );
    };
    await h.waitFor(
      () => page.messages.filter((m) => m.type === '@xstate.actor' && m.actor.machine === 'gateway').length === 3,
      'three shard gateways on the page',
    );
    expect(new Set(await shardRoots()).size).toBe(3);
    const children = page.messages.flatMap((m) => (m.type === '@xstate.actor' && m.actor.id === 'shards' ? [m.actor.id] : []));
    expect(children).toEqual(['shards']);

    const since = page.messages.length;
    server.kill();
    await page.next('@xstate.actor', (m) => m.actor.id === 'resumeReconnect', since);
    await page.next('@xstate.snapshot', (m) => m.actor.machine === 'shardManager', since);
    // Nothing on the page carries the token.
    expect(page.raw.some((text) => text.includes(fleetToken))).toBe(false);
  });
});
