import { createGateway, discordProtocol, wsSocketFactory, type Timeouts } from '../../src/index.ts';
import { benchToken, SocketCounter, type Fleet, type StartFleet } from './fleet.ts';

/**
 * lifeline as a user would run it: `createGateway` with the Discord binding and default options,
 * except the drain and stable timeouts a comparison asks for. Sockets come from the default `ws`
 * factory, wrapped only to count them. `sharded`: N independent gateways, each IDENTIFYing as
 * shard [i, N], the way to run a fleet without the shard manager.
 */
export const startLifelineFleet: StartFleet = async ({ url, count, drainMs, stableMs, compression, sharded = false, events }) => {
  const counter = new SocketCounter(count);
  const createWsSocket = wsSocketFactory();
  const timeouts: Partial<Timeouts> = {};
  if (drainMs !== undefined) timeouts.drain = drainMs;
  if (stableMs !== undefined) timeouts.stable = stableMs;

  const gateways = Array.from({ length: count }, (_, connection) => {
    const gateway = createGateway({
      url,
      protocol: discordProtocol({ token: benchToken, intents: 0, ...(sharded ? { identify: { shard: [connection, count] } } : {}) }),
      timeouts,
      compression: compression ?? 'none',
      createSocket: (socketUrl) => counter.track(connection, createWsSocket(socketUrl)),
    });
    gateway.on('dispatch', () => events.dispatch(connection));
    gateway.on('state', (change) => {
      if (change.state !== 'ready') return;
      if (change.handshake === 'resume') events.resumed(connection);
      else events.ready(connection);
    });
    return gateway;
  });
  await Promise.all(gateways.map((gateway) => gateway.start()));

  const fleet: Fleet = {
    forceFresh: (connection) => void gateways[connection]!.reconnect({ fresh: true }),
    pause: () => counter.pauseAll(),
    resume: () => counter.resumeAll(),
    maxSocketsPerConnection: () => counter.max,
    close: async () => {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
    },
  };
  return fleet;
};
