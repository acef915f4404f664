import { createShardManager, wsSocketFactory, type Timeouts, type WebSocketLike } from '../../src/index.ts';
import { baseUrlOf, benchToken, SocketCounter, type Fleet, type StartFleet } from './fleet.ts';

/**
 * lifeline's way to run many connections: one `createShardManager` fleet of `count` shards, with
 * the default identify queue (from the `session_start_limit` a `gatewayInfo` stand-in reports,
 * as GET /gateway/bot would) and the default in-memory session store.
 *
 * Every shard's gateway shares one `createSocket`, which does not know the shard it builds for.
 * A socket is given to its shard by its first frame: the IDENTIFY names the shard, a RESUME names
 * a session that READY tied to a shard. Until then it counts as not yet attributed; after it, the
 * socket's own `send` is the prototype's again.
 */
export const startLifelineShardsFleet: StartFleet = async ({
  url,
  count,
  drainMs,
  stableMs,
  compression,
  maxConcurrency = count,
  identifyWindowMs = 5_000,
  events,
}) => {
  const counter = new SocketCounter(count);
  const shardOfSession = new Map<string, number>();
  const createWsSocket = wsSocketFactory();
  const timeouts: Partial<Timeouts> = {};
  if (drainMs !== undefined) timeouts.drain = drainMs;
  if (stableMs !== undefined) timeouts.stable = stableMs;

  const shardOfFirstFrame = (data: string): number | undefined => {
    const frame = JSON.parse(data) as { op: number; d?: { shard?: [number, number]; session_id?: string } };
    if (frame.op === 2) return frame.d?.shard?.[0];
    if (frame.op === 6 && frame.d?.session_id !== undefined) return shardOfSession.get(frame.d.session_id);
    return undefined;
  };

  const createSocket = (socketUrl: string): WebSocketLike => {
    const socket = createWsSocket(socketUrl) as WebSocketLike & { send: WebSocketLike['send'] };
    const send = socket.send;
    socket.send = (data, done) => {
      const shardId = shardOfFirstFrame(data);
      if (shardId !== undefined) {
        delete (socket as Partial<WebSocketLike>).send;
        counter.track(shardId, socket);
      }
      send.call(socket, data, done);
    };
    return socket;
  };

  const fleet = createShardManager({
    token: benchToken,
    intents: 0,
    shardCount: count,
    url,
    identifyWindowMs,
    gatewayInfo: async () => ({
      url: baseUrlOf(url),
      shards: count,
      session_start_limit: { total: 1_000_000, remaining: 1_000_000, reset_after: 86_400_000, max_concurrency: maxConcurrency },
    }),
    timeouts,
    compression: compression ?? 'none',
    createSocket,
  });
  fleet.on('dispatch', (_payload, shardId) => events.dispatch(shardId));
  fleet.on('state', (change, shardId) => {
    if (change.state !== 'ready') return;
    const session = fleet.session(shardId);
    if (session) shardOfSession.set(session.sessionId, shardId);
    if (change.handshake === 'resume') events.resumed(shardId);
    else events.ready(shardId);
  });
  await fleet.start();

  return {
    forceFresh: (shardId) => void fleet.reconnect(shardId, { fresh: true }),
    pause: () => counter.pauseAll(),
    resume: () => counter.resumeAll(),
    maxSocketsPerConnection: () => counter.max,
    close: async () => {
      await fleet.stop();
    },
  } satisfies Fleet;
};
