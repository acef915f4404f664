import {
  CompressionMethod,
  SimpleShardingStrategy,
  WebSocketManager,
  WebSocketShardDestroyRecovery,
  WebSocketShardEvents,
  type SessionInfo,
  type WebSocketManagerOptions,
  type WebSocketShard,
} from '@discordjs/ws';
import { Readiness, SocketCounter, baseUrlOf, benchToken, type Fleet, type StartFleet, type TrackedSocket } from './fleet.ts';

/**
 * `@discordjs/ws` (v2) pointed at the chaos gateway: one WebSocketManager with one shard per
 * connection (its own way to run many connections), a `rest` stand-in whose `get` answers
 * GET /gateway/bot with the chaos gateway's URL, JSON encoding and no compression (its defaults).
 * Session info is kept per manager rather than in the library's process-wide default store.
 * `max_concurrency` equals the shard count unless a comparison names one, so the identify throttle
 * lets every shard start at once, as it would for a bot with that many identify buckets.
 *
 * Counting sockets needs one look inside: the shard keeps its socket in a private `connection`
 * field; an accessor on each shard sees every socket it creates. Nothing else is changed.
 */

type Rest = WebSocketManagerOptions['rest'];

class CountingStrategy extends SimpleShardingStrategy {
  constructor(
    manager: WebSocketManager,
    private readonly counter: SocketCounter,
  ) {
    super(manager);
  }

  /** The strategy's shards (a private field of SimpleShardingStrategy). */
  get shardMap(): Map<number, WebSocketShard> {
    return (this as unknown as { shards: Map<number, WebSocketShard> }).shards;
  }

  override async spawn(shardIds: number[]): Promise<void> {
    await super.spawn(shardIds);
    for (const [id, shard] of this.shardMap) watchSockets(shard, (socket) => this.counter.track(id, socket));
  }
}

function watchSockets(shard: WebSocketShard, onSocket: (socket: TrackedSocket) => void): void {
  let current: unknown = null;
  Object.defineProperty(shard, 'connection', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (socket: unknown) => {
      if (socket && socket !== current) onSocket(socket as TrackedSocket);
      current = socket;
    },
  });
}

export const startDiscordJsFleet: StartFleet = async ({ url, count, compression, maxConcurrency = count, events }) => {
  // 2.0.4 has zlib-stream only (through node:zlib or zlib-sync); zstd is on its unreleased main.
  if (compression === 'zstd-stream') throw new Error('@discordjs/ws 2.x has no zstd-stream');
  const counter = new SocketCounter(count);
  const sessions = new Map<number, SessionInfo>();
  const gatewayBot = {
    url: baseUrlOf(url),
    shards: count,
    session_start_limit: { total: 1_000_000, remaining: 1_000_000, reset_after: 86_400_000, max_concurrency: maxConcurrency },
  };
  let strategy: CountingStrategy | undefined;
  const manager = new WebSocketManager({
    token: benchToken,
    intents: 0,
    rest: { get: async () => gatewayBot } as unknown as Rest,
    shardCount: count,
    compression: compression === 'zlib-stream' ? CompressionMethod.ZlibNative : null,
    useIdentifyCompression: false,
    retrieveSessionInfo: (shardId) => sessions.get(shardId) ?? null,
    updateSessionInfo: (shardId, info) => void (info ? sessions.set(shardId, info) : sessions.delete(shardId)),
    buildStrategy: (self) => (strategy = new CountingStrategy(self, counter)),
  });

  const ready = new Readiness(count);
  manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
    if (payload.t !== 'READY' && payload.t !== 'RESUMED') events.dispatch(shardId);
  });
  manager.on(WebSocketShardEvents.Ready, (_data, shardId) => {
    ready.mark(shardId);
    events.ready(shardId);
  });
  manager.on(WebSocketShardEvents.Resumed, (shardId) => events.resumed(shardId));
  await manager.connect();
  await ready.all;

  const fleet: Fleet = {
    forceFresh: (connection) => {
      // The shard's own fresh reconnect: close, forget the session, wait 500 ms, IDENTIFY.
      void strategy?.shardMap.get(connection)?.destroy({ recover: WebSocketShardDestroyRecovery.Reconnect });
    },
    pause: () => counter.pauseAll(),
    resume: () => counter.resumeAll(),
    maxSocketsPerConnection: () => counter.max,
    close: async () => {
      await manager.destroy();
    },
  };
  return fleet;
};
