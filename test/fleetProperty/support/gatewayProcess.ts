import { GatewayCloseCodes } from 'discord-api-types/gateway/v10';
import { startChaosGateway, type ChaosGateway, type FleetRulesOptions, type IdentifyViolation } from '../../../src/testing/index.ts';

/**
 * The chaos gateway in a process of its own, driven over IPC (see ../gatewayChild.ts). It plays
 * Discord, whose clock a step of the bot host's wall clock does not move: the fleet's process may
 * patch `Date.now()`, and the rules here still measure arrivals and budget periods on real time.
 */

export interface StartRequest {
  token: string;
  fleet: FleetRulesOptions;
  /** the first this many connections get no HELLO */
  helloStalls: number;
}

export interface IdentifyArrival {
  /** the server's connection number: later connections have higher numbers */
  connection: number;
  shard: number | null;
  /** Date.now() of this process on arrival */
  at: number;
  /** Date.now() of this process when the server accepted the connection */
  connectedAt: number;
}

export interface GatewayReport {
  /** Date.now() of this process when the gateway started */
  startedAt: number;
  /** Date.now() of this process when the budget's first period ends (the next lasts a day) */
  firstResetAt: number;
  violations: IdentifyViolation[];
  /** every IDENTIFY that arrived, accepted or refused, in order */
  arrivals: IdentifyArrival[];
  open: number;
  connections: number;
}

let gateway: ChaosGateway | undefined;
let startedAt = 0;
let firstResetAt = 0;
const connectedAt = new Map<number, number>();

function current(): ChaosGateway {
  if (!gateway) throw new Error('no chaos gateway runs: call start first');
  return gateway;
}

const handlers = {
  async start(request: StartRequest) {
    await gateway?.close();
    gateway = undefined;
    startedAt = Date.now();
    connectedAt.clear();
    gateway = await startChaosGateway({ heartbeatInterval: 10_000, token: request.token, fleet: request.fleet });
    gateway.on('connection', ({ connection }) => void connectedAt.set(connection, Date.now()));
    if (request.helloStalls > 0) gateway.stallHello(request.helloStalls);
    firstResetAt = Date.now() + gateway.sessionStartLimit().reset_after;
    return { url: gateway.url, apiUrl: gateway.apiUrl, startedAt, firstResetAt };
  },
  /** Every socket dropped without a close frame: the shards see 1006 and RESUME. */
  kill() {
    current().kill();
    return current().counters.connections;
  },
  /** op 9 d=false on every live socket: those sessions are gone, the shards IDENTIFY again. */
  refuse() {
    current().invalidateSession(false);
    return current().counters.connections;
  },
  /** The sessions are forgotten and the sockets dropped: every RESUME is answered with op 9 d=false. */
  refuseResumes(sessionIds: string[]) {
    for (const id of sessionIds) current().endSession(id);
    current().kill();
    return current().counters.connections;
  },
  /** 4004 on every live socket: the token is refused. */
  fatal() {
    current().closeWith(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
    return current().counters.connections;
  },
  connections() {
    return current().counters.connections;
  },
  /** Client sockets open right now, as the server sees them. */
  open() {
    return current().counters.open;
  },
  report(): GatewayReport {
    const server = current();
    const arrivals = server.received
      .filter((frame) => frame.op === 2)
      .map(({ connection, d, at }) => {
        const shard = (d as { shard?: unknown } | null)?.shard;
        return {
          connection,
          at,
          connectedAt: connectedAt.get(connection) ?? at,
          shard: Array.isArray(shard) && typeof shard[0] === 'number' ? shard[0] : null,
        };
      });
    return {
      startedAt,
      firstResetAt,
      violations: [...server.violations],
      arrivals,
      open: server.counters.open,
      connections: server.counters.connections,
    };
  },
  async close() {
    await gateway?.close();
    gateway = undefined;
  },
};

export type GatewayHandlers = typeof handlers;

type Request = { id: number; method: keyof GatewayHandlers; params: unknown };

const reply = process.send?.bind(process);
if (!reply) throw new Error('gatewayProcess.ts runs as a child process with an IPC channel (see ../gatewayChild.ts)');
process.on('message', (message: Request) => {
  void (async () => {
    try {
      const handler = handlers[message.method] as (params: unknown) => unknown;
      reply({ id: message.id, ok: true, result: (await handler(message.params)) ?? null });
    } catch (error) {
      reply({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  })();
});
// The parent went away (done, or killed): close the server so the process ends by itself.
process.once('disconnect', () => void handlers.close());
reply('ready');
