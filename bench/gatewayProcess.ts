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

const handlers = {
  async start(options: { heartbeatInterval?: number } = {}) {
    await gateway?.close();
    gateway = undefined;
    gateway = await startChaosGateway({ token: benchToken, heartbeatInterval: options.heartbeatInterval ?? 41_250 });
    return { url: gateway.url };
  },

  /** Appends `events` dispatches to every live session as fast as it can, yielding to I/O between batches. */
  async flood(options: { events: number; t?: string; d?: unknown; batch?: number; varied?: boolean }) {
    const server = current();
    // Varied events (lib/messages.ts) for the compression comparison: identical ones compress to nothing.
    const next = options.varied ? messageEvents() : undefined;
    const batch = options.batch ?? 500;
    const startedAt = epochNow();
    let sessions = 0;
    for (let sent = 0; sent < options.events; ) {
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
