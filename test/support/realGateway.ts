import { GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import WebSocket from 'ws';
import { createGateway, discordProtocol, type Gateway, type GatewayOptions, type GatewayStateChange } from '../../src/index.ts';
import type { DispatchPayload, Timeouts, WebSocketLike } from '../../src/types.ts';
import { startChaosGateway, type ChaosGateway, type ChaosGatewayOptions } from '../../src/testing/index.ts';
import { testCompression, testConnectUrl } from './compression.ts';
import { isHandshakeAnswer } from './discordFrames.ts';

export { testConnectUrl };

export const token = 'test-token-3f9a1c';

/** Short real timeouts: a real-socket test should finish in tens of milliseconds per step. */
export const shortTimeouts: Timeouts = {
  connect: 500,
  hello: 120,
  ready: 150,
  drain: 80,
  terminateGrace: 40,
  stable: 10_000,
};

/**
 * Every socket the gateway asked for, and the most that were live (not CLOSED) at once. The count
 * is taken at creation: a socket created while an earlier one is still live breaks the guarantee.
 */
export class SocketTracker {
  readonly sockets: { url: string; socket: WebSocket }[] = [];
  maxLive = 0;
  /** when set, sockets created from now on ignore close() and terminate() */
  deaf = false;

  readonly createSocket = (url: string): WebSocketLike => {
    const live = this.sockets.filter(({ socket }) => socket.readyState !== WebSocket.CLOSED).length + 1;
    this.maxLive = Math.max(this.maxLive, live);
    const socket = new WebSocket(url, { perMessageDeflate: false });
    this.sockets.push({ url, socket });
    return this.deaf ? deafen(socket) : socket;
  };

  get live(): number {
    return this.sockets.filter(({ socket }) => socket.readyState !== WebSocket.CLOSED).length;
  }

  last(): WebSocket {
    const entry = this.sockets.at(-1);
    if (!entry) throw new Error('no socket was created');
    return entry.socket;
  }

  /** Really closes everything, including deafened sockets, so no test leaves a handle open. */
  destroyAll(): void {
    for (const { socket } of this.sockets) socket.terminate();
  }
}

/** A socket whose close() and terminate() do nothing: the drain can never see it close. */
function deafen(socket: WebSocket): WebSocketLike {
  return new Proxy(socket, {
    get(target, property, receiver) {
      if (property === 'close' || property === 'terminate') return () => {};
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface Harness {
  server: ChaosGateway;
  gateway: Gateway;
  tracker: SocketTracker;
  states: GatewayStateChange[];
  errors: Error[];
  /** the session's events, READY and RESUMED left out (as the server counts them) */
  dispatches: DispatchPayload[];
  /** everything `on('dispatch')` delivered, READY and RESUMED included */
  everyDispatch: DispatchPayload[];
  /** the kinds of reconnect started, in order (`fresh` for the first connect) */
  reconnectKinds(): ('fresh' | 'resume')[];
  /** the handshake ops (2 IDENTIFY, 6 RESUME) the server received, in order */
  handshakes(): ('IDENTIFY' | 'RESUME')[];
  waitFor(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** waits for a state change matching `predicate` among those published from index `since` on */
  waitForState(predicate: (state: GatewayStateChange) => boolean, what: string, since?: number): Promise<GatewayStateChange>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  server?: ChaosGatewayOptions;
  gateway?: Partial<GatewayOptions>;
}

const openHarnesses = new Set<Harness>();

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const server = await startChaosGateway({ heartbeatInterval: 10_000, token, ...options.server });
  const tracker = new SocketTracker();
  const gateway = createGateway({
    url: server.url,
    protocol: discordProtocol({ token, intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages }),
    timeouts: shortTimeouts,
    backoff: { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 },
    createSocket: tracker.createSocket,
    compression: testCompression(),
    ...options.gateway,
  });
  const states: GatewayStateChange[] = [];
  const errors: Error[] = [];
  const dispatches: DispatchPayload[] = [];
  const everyDispatch: DispatchPayload[] = [];
  gateway.on('state', (state) => states.push(state));
  gateway.on('error', (error) => errors.push(error));
  gateway.on('dispatch', (payload) => {
    everyDispatch.push(payload);
    if (!isHandshakeAnswer(payload)) dispatches.push(payload);
  });

  const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 3_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; states: ${summarize(states)}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  const harness: Harness = {
    server,
    gateway,
    tracker,
    states,
    errors,
    dispatches,
    everyDispatch,
    reconnectKinds: () => {
      const kinds: ('fresh' | 'resume')[] = [];
      let generation = -1;
      for (const state of states) {
        if (state.state === 'connecting' && state.kind && state.generation !== generation) {
          generation = state.generation;
          kinds.push(state.kind);
        }
      }
      return kinds;
    },
    handshakes: () =>
      server.received
        .filter((frame) => frame.op === GatewayOpcodes.Identify || frame.op === GatewayOpcodes.Resume)
        .map((frame) => (frame.op === GatewayOpcodes.Identify ? 'IDENTIFY' : 'RESUME')),
    waitFor,
    async waitForState(predicate, what, since = 0) {
      await waitFor(() => states.slice(since).some(predicate), what);
      return states.slice(since).find(predicate) as GatewayStateChange;
    },
    async close() {
      openHarnesses.delete(harness);
      await gateway.stop();
      tracker.destroyAll();
      await server.close();
    },
  };
  openHarnesses.add(harness);
  return harness;
}

/** Closes whatever a failed test left open. */
export async function closeAllHarnesses(): Promise<void> {
  await Promise.all([...openHarnesses].map((harness) => harness.close()));
}

export function summarize(states: GatewayStateChange[]): string {
  return states.map((s) => [s.state, s.kind, s.phase].filter(Boolean).join(':')).join(' → ');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
