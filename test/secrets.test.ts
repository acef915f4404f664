import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import WebSocket from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import {
  createGateway,
  discordProtocol,
  superviseGateway,
  type Gateway,
  type GatewayOptions,
  type GatewayStateChange,
  type SupervisedGateway,
} from '../src/index.ts';
import { LossyCloseSockets } from './support/lossyClose.ts';
import { startChaosGateway, type ChaosGateway } from '../src/testing/index.ts';
import { SocketTracker } from './support/realGateway.ts';
import { SecretScanner, serialize } from './support/secretScanner.ts';

/**
 * The token goes to the server in IDENTIFY and RESUME, and nowhere else: after a scenario with
 * every kind of fault, it is searched for in everything the engine shows: logs, errors, state
 * and supervisor events, inspection events, and the snapshots of every actor seen.
 */

const tail = randomBytes(16).toString('hex');
const token = `tok-${tail}`;
// Stalls wait these out, so they are short; READY has room, since two READY timeouts in a row are fatal.
const timeouts = { connect: 1_000, hello: 300, ready: 500, drain: 100, terminateGrace: 50, stable: 10_000 };
const backoff = { baseMs: 2, maxMs: 5, invalidSessionMinMs: 2, invalidSessionMaxMs: 5 };

const opened: { server?: ChaosGateway; gateways: { stop(): Promise<unknown> }[]; sockets: WebSocket[] } = { gateways: [], sockets: [] };
afterEach(async () => {
  vi.restoreAllMocks();
  for (const gateway of opened.gateways) await gateway.stop();
  for (const socket of opened.sockets) socket.terminate();
  await opened.server?.close();
  opened.server = undefined;
  opened.gateways = [];
  opened.sockets = [];
});

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Records every log call and write to stdout/stderr, passing them through. */
function spyOnLogs() {
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const spies = [
    ...methods.map((method) => vi.spyOn(console, method)),
    vi.spyOn(process.stdout, 'write'),
    vi.spyOn(process.stderr, 'write'),
  ];
  return () => spies.flatMap((spy) => spy.mock.calls.flat() as unknown[]);
}

/** Everything one engine shows, searched as it is shown. */
function watch(scanner: SecretScanner) {
  const actors = new Set<Pick<AnyActorRef, 'getSnapshot'>>();
  const states: GatewayStateChange[] = [];
  const errors: Error[] = [];
  const inspectObserver = (event: InspectionEvent) => {
    scanner.check('inspection event', serialize(event));
    const source = 'sourceRef' in event ? event.sourceRef : undefined;
    for (const ref of [event.actorRef, source]) {
      if (!ref) continue;
      actors.add(ref);
      scanner.check('actor snapshot', serialize(ref.getSnapshot()));
    }
  };
  const listen = (gateway: Pick<Gateway, 'on'>) => {
    gateway.on('error', (error) => {
      errors.push(error);
      scanner.checkError('error event', error);
    });
    gateway.on('state', (state) => {
      states.push(state);
      scanner.check('state event', JSON.stringify(state));
    });
  };
  const readyCount = () => states.filter((s) => s.state === 'ready').length;
  /** Runs `act` and waits for the next READY/RESUMED. */
  const recover = async (act: () => void, what: string) => {
    const before = readyCount();
    act();
    await waitFor(() => readyCount() > before, `ready again after ${what}`);
  };
  return { actors, states, errors, inspect: inspectObserver, listen, recover };
}

function gatewayOptions(
  server: ChaosGateway,
  watcher: ReturnType<typeof watch>,
  createSocket: GatewayOptions['createSocket'],
): GatewayOptions {
  return { url: server.url, protocol: discordProtocol({ token, intents: 513 }), timeouts, backoff, createSocket, inspect: watcher.inspect };
}

/** start, dispatches, kill → resume, forced fresh, op 9 both ways, a HELLO stall, a bad frame, a READY timeout, a failed drain. */
async function everyFault(server: ChaosGateway, scanner: SecretScanner, watcher: ReturnType<typeof watch>) {
  const tracker = new SocketTracker();
  const gateway = createGateway(gatewayOptions(server, watcher, tracker.createSocket));
  opened.gateways.push(gateway);
  watcher.listen(gateway);
  const dispatches: unknown[] = [];
  gateway.on('dispatch', (payload) => dispatches.push(payload));

  await gateway.start();
  for (let i = 0; i < 3; i += 1) server.dispatch('MESSAGE_CREATE', { content: `event ${i}` });
  await waitFor(() => dispatches.length === 4, 'READY and three dispatches');
  await gateway.send({ op: 3, d: { status: 'online', since: null, activities: [], afk: false } });
  await watcher.recover(() => server.kill(), 'a dropped connection');
  await gateway.reconnect({ fresh: true });
  await watcher.recover(() => server.invalidateSession(true), 'op 9 d=true');
  await watcher.recover(() => server.invalidateSession(false), 'op 9 d=false');
  server.stallHello(1);
  await watcher.recover(() => server.kill(), 'a HELLO stall');
  await watcher.recover(() => server.sendRaw('{"op":'), 'a bad frame');
  server.stallReady(1);
  await gateway.reconnect({ fresh: true });

  // The next socket ignores close() and terminate(): draining it fails, and the gateway fails closed.
  tracker.deaf = true;
  await gateway.reconnect({ fresh: true });
  tracker.deaf = false;
  opened.sockets.push(...tracker.sockets.map(({ socket }) => socket));
  const failure = await gateway.reconnect().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(Error);
  scanner.checkError('rejection', failure);
  expect(gateway.status).toBe('failed');
  scanner.check('stop() output', serialize(await gateway.stop()));
  return gateway;
}

/** A supervised gateway: a failed drain is restarted, then a fatal 4004 ends it; then stop. */
async function supervisedUntilFatal(server: ChaosGateway, scanner: SecretScanner, watcher: ReturnType<typeof watch>) {
  const sockets = new LossyCloseSockets();
  const supervised: SupervisedGateway = superviseGateway({
    ...gatewayOptions(server, watcher, sockets.createSocket),
    supervisor: { maxRestarts: 3, windowMs: 60_000, cooldownBaseMs: 5, cooldownMaxMs: 10 },
  });
  opened.gateways.push(supervised);
  watcher.listen(supervised);
  const runs: number[] = [];
  supervised.on('supervisor', (change) => {
    runs.push(change.runs);
    scanner.check('supervisor event', serialize(change));
  });

  await supervised.start();
  sockets.lossy = true;
  await supervised.gateway?.reconnect({ fresh: true });
  sockets.lossy = false;
  opened.sockets.push(...sockets.sockets);
  const readyBefore = watcher.states.filter((s) => s.state === 'ready').length;
  void supervised.gateway?.reconnect().catch((error: unknown) => scanner.checkError('rejection', error));
  await waitFor(
    () => Math.max(...runs) >= 2 && watcher.states.filter((s) => s.state === 'ready').length > readyBefore,
    'a restarted run to be ready',
  );
  opened.sockets.push(...sockets.sockets);

  server.closeWith(4004, 'Authentication failed.');
  await waitFor(() => supervised.status === 'failed', 'the supervisor to give up after 4004');
  await supervised.stop();
  return supervised;
}

describe('the token never leaks', () => {
  it('is in no log, error, state or supervisor event, inspection event or snapshot after a scenario with every fault', async () => {
    const scanner = new SecretScanner(token, tail);
    const logged = spyOnLogs();
    const server = await startChaosGateway({ heartbeatInterval: 10_000, token });
    opened.server = server;
    const watcher = watch(scanner);

    const gateway = await everyFault(server, scanner, watcher);
    const supervised = await supervisedUntilFatal(server, scanner, watcher);

    for (const [owner, actor] of [
      ['gateway', gateway.actor],
      ['supervisor', supervised.actor],
    ] as const) {
      // Exactly what a user would write; it must not throw on a cycle either.
      scanner.check(`JSON.stringify(${owner}.actor.getSnapshot())`, JSON.stringify(actor.getSnapshot()));
      scanner.check(`util.inspect(${owner} snapshot)`, inspect(actor.getSnapshot(), { depth: 6 }));
    }
    for (const actor of watcher.actors) scanner.check('final actor snapshot', serialize(actor.getSnapshot()));
    for (const entry of logged())
      scanner.check('log', typeof entry === 'string' ? entry : Buffer.isBuffer(entry) ? entry.toString() : inspect(entry, { depth: 6 }));

    expect(scanner.findings).toEqual([]);

    // The search covered what it claims, and would have found the token had it been there.
    const messages = watcher.errors.map((e) => e.message).join('\n');
    expect(messages).toMatch(/HELLO/);
    expect(messages).toMatch(/READY/);
    expect(messages).toMatch(/invalid JSON/);
    expect(messages).toMatch(/did not close even after terminate/);
    expect(messages).toMatch(/4004/);
    expect(Math.max(...watcher.states.map((s) => s.generation))).toBeGreaterThan(8);
    expect(scanner.scanned.get('inspection event')).toBeGreaterThan(200);
    expect(scanner.scanned.get('actor snapshot')).toBeGreaterThan(200);
    expect(scanner.scanned.get('supervisor event')).toBeGreaterThan(2);
    expect(watcher.actors.size).toBeGreaterThan(10);
    const handshakes = server.received.filter((frame) => frame.op === 2 || frame.op === 6);
    expect(handshakes.map((frame) => frame.op)).toEqual(expect.arrayContaining([2, 6]));
    expect(scanner.contains(serialize(handshakes))).toBe(true);
  }, 30_000);
});
