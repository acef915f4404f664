import WebSocket from 'ws';
import { createGateway, discordProtocol, type Gateway } from '../../src/index.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import type { ServerMessage } from '../../visualizer/protocol.ts';
import { serveInspector, type Inspector, type InspectorOptions } from '../../visualizer/server.ts';

/** A chaos gateway, a client gateway and an inspector serving it, all closed by close(). */

export const token = 'inspector-test-token-7c1e';

export interface Rig {
  server: ChaosGateway;
  gateway: Gateway;
  inspector: Inspector;
  close(): Promise<void>;
}

const open = new Set<Rig>();

export async function startRig(
  options: { inspector?: InspectorOptions | ((server: ChaosGateway, gateway: Gateway) => InspectorOptions); urlSuffix?: string } = {},
): Promise<Rig> {
  const server = await startChaosGateway({ heartbeatInterval: 200, token });
  const gateway = createGateway({
    url: server.url + (options.urlSuffix ?? ''),
    protocol: discordProtocol({ token, intents: 513 }),
    timeouts: { connect: 500, hello: 300, ready: 300, drain: 100, terminateGrace: 60, stable: 10_000 },
    backoff: { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 },
  });
  let inspector: Inspector;
  try {
    inspector = await serveInspector(
      gateway,
      typeof options.inspector === 'function' ? options.inspector(server, gateway) : options.inspector,
    );
  } catch (error) {
    await gateway.stop();
    await server.close();
    throw error;
  }
  const rig: Rig = {
    server,
    gateway,
    inspector,
    async close() {
      open.delete(rig);
      await inspector.close();
      await gateway.stop();
      await server.close();
    },
  };
  open.add(rig);
  return rig;
}

export async function closeRigs(): Promise<void> {
  await Promise.all([...open].map((rig) => rig.close()));
}

/** A page stand-in: a WebSocket client that keeps every message the inspector sent it. */
export interface Listener {
  messages: ServerMessage[];
  raw: string[];
  socket: WebSocket;
  next<T extends ServerMessage['type']>(
    type: T,
    predicate?: (message: Extract<ServerMessage, { type: T }>) => boolean,
    since?: number,
  ): Promise<Extract<ServerMessage, { type: T }>>;
  close(): Promise<void>;
}

export async function listen(inspector: Inspector, headers: Record<string, string> = {}): Promise<Listener> {
  const socket = new WebSocket(new URL('/ws', inspector.url).href.replace(/^http/, 'ws'), { headers });
  const messages: ServerMessage[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    raw.push(String(data));
    messages.push(JSON.parse(String(data)) as ServerMessage);
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const listener: Listener = {
    messages,
    raw,
    socket,
    next(type, predicate = () => true, since = 0) {
      type Found = Extract<ServerMessage, { type: typeof type }>;
      const find = () => messages.slice(since).find((m): m is Found => m.type === type && predicate(m as Found));
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = find();
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${type} message matched; got: ${messages.map((m) => m.type).join(', ')}`));
        }, 5_000);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.terminate();
      }),
  };
  return listener;
}
