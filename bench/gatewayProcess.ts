import { send, type ClientConnection } from '../src/testing/connection.ts';
import type { FleetRulesOptions } from '../src/testing/identifyRules.ts';
import type { GatewaySession } from '../src/testing/session.ts';
import { startChaosGateway, type ChaosGateway } from '../src/testing/index.ts';
import { benchToken } from './contenders/fleet.ts';
import { serve } from './lib/ipc.ts';
import { messageEvents } from './lib/messages.ts';
import { epochNow } from './lib/time.ts';

/**
 * The chaos gateway in a process of its own, so the client under test has a core to itself. The
 * bench drives it over IPC (see lib/processes.ts). `start` replaces the running gateway with a new
 * one: sessions live as long as their gateway, and a flood reaches every live session.
 */

let gateway: ChaosGateway | undefined;

function current(): ChaosGateway {
  if (!gateway) throw new Error('no chaos gateway is running: call start first');
  return gateway;
}

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The chaos gateway's sessions and sockets. `dispatch()` routes each event by testing every
 * session's shard against its guild (a BigInt per session and event): fine for tests, minutes for
 * a flood of 100,000 events over 3,000 sharded sessions. `floodShards` appends to each session
 * directly, as `dispatch()` would for an event of that shard's guild.
 */
interface GatewayInternals {
  sessions: Map<string, GatewaySession>;
  connections: Map<number, ClientConnection>;
}

/** A guild id whose events go to `shardId` of `shardCount`: `(id >> 22) % count === shardId`. */
const guildOfShard = (shardId: number) => String(BigInt(shardId) << 22n);

const handlers = {
  async start(options: { heartbeatInterval?: number; fleet?: FleetRulesOptions } = {}) {
    await gateway?.close();
    gateway = undefined;
    gateway = await startChaosGateway({
      token: benchToken,
      heartbeatInterval: options.heartbeatInterval ?? 41_250,
      ...(options.fleet ? { fleet: options.fleet } : {}),
    });
    return { url: gateway.url };
  },

  /**
   * Appends `perShard` dispatches to every live sharded session, each carrying a guild of that
   * session's shard, round by round over the sessions, yielding to I/O between rounds. Returns
   * how many sessions got them (unsharded ones get none).
   */
  async floodShards(options: { perShard: number; batch?: number }) {
    const { sessions, connections } = current() as unknown as GatewayInternals;
    const sharded = [...sessions.values()].filter((session) => session.shard !== null);
    const payloads = new Map<number, { guild_id: string }>();
    for (const session of sharded) {
      const shardId = session.shard![0];
      if (!payloads.has(shardId)) payloads.set(shardId, { guild_id: guildOfShard(shardId) });
    }
    const batch = options.batch ?? 10;
    const startedAt = epochNow();
    for (let sent = 0; sent < options.perShard;) {
      const end = Math.min(options.perShard, sent + batch);
      for (const session of sharded) {
        const d = payloads.get(session.shard![0]);
        const receiver = session.attachedTo === undefined ? undefined : connections.get(session.attachedTo);
        for (let i = sent; i < end; i++) {
          const frame = session.append('MESSAGE_CREATE', d);
          session.dispatched++;
          if (receiver?.phase === 'ready') send(receiver, frame);
        }
      }
      sent = end;
      await yieldToIo();
    }
    return { startedAt, endedAt: epochNow(), sessions: sharded.length };
  },

  /** What the fleet rules saw: violations by kind and the accepted IDENTIFYs' first and last times. */
  fleetReport(options: { maxConcurrency?: number } = {}) {
    const server = current();
    // Gaps between accepted IDENTIFYs of one bucket: the window plus whatever the client lost.
    const lastInBucket = new Map<number, number>();
    const gaps: number[] = [];
    for (const { shard, at } of server.identified) {
      const bucket = (shard ?? 0) % (options.maxConcurrency ?? 1);
      const last = lastInBucket.get(bucket);
      if (last !== undefined) gaps.push(at - last);
      lastInBucket.set(bucket, at);
    }
    gaps.sort((a, b) => a - b);
    const kinds: Record<string, number> = {};
    for (const violation of server.violations) kinds[violation.kind] = (kinds[violation.kind] ?? 0) + 1;
    const identified = server.identified;
    return {
      violations: server.violations.length,
      kinds,
      identified: identified.length,
      firstAt: identified[0]?.at ?? null,
      lastAt: identified.at(-1)?.at ?? null,
      /** the first few window breaches, to see by how much they missed */
      windowBreaches: server.violations
        .filter((v) => v.kind === 'window')
        .slice(0, 8)
        .map((v) => v.detail),
      gapMedian: gaps[gaps.length >> 1] ?? null,
      gapMax: gaps.at(-1) ?? null,
    };
  },

  /** Appends `events` dispatches to every live session as fast as it can, yielding to I/O between batches. */
  async flood(options: { events: number; t?: string; d?: unknown; batch?: number; varied?: boolean }) {
    const server = current();
    // Varied events (lib/messages.ts) for the compression comparison: identical ones compress to nothing.
    const next = options.varied ? messageEvents() : undefined;
    const batch = options.batch ?? 500;
    const startedAt = epochNow();
    let sessions = 0;
    for (let sent = 0; sent < options.events;) {
      const end = Math.min(options.events, sent + batch);
      for (; sent < end; sent++) sessions = server.dispatch(options.t, next ? next(sent) : options.d);
      await yieldToIo();
    }
    return { startedAt, endedAt: epochNow(), sessions };
  },

  /** Destroys every client socket (clients see 1006); returns when it happened. */
  kill() {
    const server = current();
    const at = epochNow();
    const open = server.counters.open;
    server.kill();
    return { at, open };
  },

  neverCloseHandshake(on: boolean) {
    current().neverCloseHandshake(on);
  },

  counters() {
    return { ...current().counters, sessions: current().sessionCount() };
  },

  resetCounters() {
    current().resetCounters();
  },

  async stop() {
    await gateway?.close();
    gateway = undefined;
  },
};

export type GatewayApi = typeof handlers;

serve(handlers, () => handlers.stop());
