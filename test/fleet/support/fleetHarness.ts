import { createShardManager, type ShardManager, type ShardManagerOptions } from '../../../src/fleet/createShardManager.ts';
import type { GatewayBotInfo } from '../../../src/fleet/gatewayBot.ts';
import { startChaosGateway, type ChaosGateway, type ChaosGatewayOptions } from '../../../src/testing/index.ts';
import type { DispatchPayload } from '../../../src/types.ts';
import { shortTimeouts } from '../../support/realGateway.ts';
import { isHandshakeAnswer } from '../../support/discordFrames.ts';

export const fleetToken = 'fleet-token-7c21';

export interface FleetHarness {
  server: ChaosGateway;
  fleet: ShardManager;
  /** every dispatch delivered, with the shard it came on */
  dispatches: { shardId: number; payload: DispatchPayload }[];
  errors: { shardId: number | null; error: Error }[];
  waitFor(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const open = new Set<{ close(): Promise<void> }>();

/** The GET /gateway/bot answer the chaos gateway's rules stand for. */
export function gatewayInfoOf(server: ChaosGateway, shards: number): () => Promise<GatewayBotInfo> {
  return async () => ({ url: server.url, shards, session_start_limit: server.sessionStartLimit() });
}

/** A chaos gateway that enforces the fleet rules, and a shard manager on it with short timeouts. */
export async function startFleetServer(fleet: ChaosGatewayOptions['fleet'], options: ChaosGatewayOptions = {}) {
  const server = await startChaosGateway({ heartbeatInterval: 10_000, token: fleetToken, fleet, ...options });
  open.add(server);
  return server;
}

export function startFleet(server: ChaosGateway, options: Partial<ShardManagerOptions> & { shardCount: number | 'auto' }): FleetHarness {
  const fleet = createShardManager({
    token: fleetToken,
    intents: 513,
    url: server.url,
    gatewayInfo: gatewayInfoOf(server, typeof options.shardCount === 'number' ? options.shardCount : 4),
    timeouts: { ...shortTimeouts, hello: 1_000, ready: 1_000 },
    backoff: { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 },
    ...options,
  });
  const dispatches: FleetHarness['dispatches'] = [];
  const errors: FleetHarness['errors'] = [];
  // The session's events, as the server counts them: READY and RESUMED left out.
  fleet.on('dispatch', (payload, shardId) => {
    if (!isHandshakeAnswer(payload)) dispatches.push({ shardId, payload });
  });
  fleet.on('error', (error, shardId) => errors.push({ shardId, error }));
  const harness: FleetHarness = {
    server,
    fleet,
    dispatches,
    errors,
    async waitFor(predicate, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      open.delete(harness);
      await fleet.stop();
    },
  };
  open.add(harness);
  return harness;
}

/** Stops every fleet and server a test left running. */
export async function closeFleets(): Promise<void> {
  const all = [...open];
  open.clear();
  // Fleets first, then servers, so no fleet reconnects to a closing server.
  for (const item of all.filter((entry) => 'fleet' in entry)) await item.close();
  for (const item of all.filter((entry) => !('fleet' in entry))) await item.close();
}

/** A guild id whose events go to `shardId` of `shardCount`. */
export function guildOf(shardId: number, shardCount: number, n = 1): string {
  return String((BigInt(shardId + shardCount * n) << 22n) | 123n);
}
