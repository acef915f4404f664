import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import {
  discordProtocol,
  superviseGateway,
  type GatewayOptions,
  type GatewayStateChange,
  type SupervisedGateway,
  type SupervisorStateChange,
} from '../../src/index.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';
import { LossyCloseSockets } from '../support/lossyClose.ts';
import { shortTimeouts, sleep, token } from '../support/realGateway.ts';
import { jsonRoundTripProblem } from '../model/plainData.ts';

let server: ChaosGateway | undefined;
let supervised: SupervisedGateway | undefined;
let sockets: LossyCloseSockets | undefined;

afterEach(async () => {
  await supervised?.stop();
  for (const socket of sockets?.sockets ?? []) socket.terminate();
  await server?.close();
  server = supervised = sockets = undefined;
});

async function supervise(maxRestarts: number, windowMs = 60_000, extra: Partial<GatewayOptions> = {}) {
  server = await startChaosGateway({ heartbeatInterval: 10_000, token });
  sockets = new LossyCloseSockets();
  sockets.lossy = true;
  const states: SupervisorStateChange[] = [];
  supervised = superviseGateway({
    url: server.url,
    protocol: discordProtocol({ token, intents: 1 }),
    timeouts: shortTimeouts,
    backoff: { baseMs: 5, maxMs: 10 },
    createSocket: sockets.createSocket,
    supervisor: { maxRestarts, windowMs, cooldownBaseMs: 10, cooldownMaxMs: 20 },
    ...extra,
  });
  supervised.on('supervisor', (state) => states.push(state));
  return { server, sockets, supervised, states };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Makes the running gateway reconnect; with lossy sockets its drain then fails closed. */
async function failCurrentRun(s: SupervisedGateway, chaos: ChaosGateway) {
  await until(() => s.gateway?.status === 'ready', 'a ready gateway');
  chaos.requestReconnect();
  await until(() => s.status === 'coolingDown' || s.status === 'open', 'the run to fail');
}

describe('supervisor with a circuit breaker, on real sockets', () => {
  it('restarts after drain failures and opens the breaker after maxRestarts, no sooner', async () => {
    const { server, sockets, supervised, states } = await supervise(2);
    await supervised.start();
    for (let run = 1; run <= 3; run += 1) {
      await failCurrentRun(supervised, server);
      if (run < 3) expect(supervised.status).toBe('coolingDown');
    }
    await until(() => supervised.status === 'open', 'the breaker to open');

    const visited = states.map((s) => s.state).filter((state, i, all) => state !== all[i - 1]);
    expect(visited).toEqual(['running', 'coolingDown', 'running', 'coolingDown', 'running', 'coolingDown', 'open']);
    expect(states.at(-1)).toMatchObject({ state: 'open', runs: 3, lastFailure: { trigger: { type: 'drainFailed' } } });
    expect(sockets.maxLive).toBe(1);
    await sleep(50);
    expect(sockets.sockets).toHaveLength(3);
    expect(supervised.gateway).toBeUndefined();
  });

  it('stays down while open, and retry() starts a gateway again', async () => {
    const { server, sockets, supervised } = await supervise(0);
    await supervised.start();
    await failCurrentRun(supervised, server);
    await until(() => supervised.status === 'open', 'the breaker to open');
    await sleep(40);
    expect(sockets.sockets).toHaveLength(1);

    sockets.lossy = false;
    supervised.retry();
    await until(() => supervised.gateway?.status === 'ready', 'ready after retry');
    expect(sockets.sockets).toHaveLength(2);
    expect(sockets.maxLive).toBe(1);
  });

  it('never restarts after a fatal close code', async () => {
    const { server, sockets, supervised } = await supervise(5);
    sockets.lossy = false;
    await supervised.start();
    server.closeWith(4004);
    await until(() => supervised.status === 'failed', 'the supervisor to fail');
    await sleep(50);
    expect(sockets.sockets).toHaveLength(1);
    expect(supervised.actor.getSnapshot().context.lastFailure?.message).toMatch(/4004/);
  });

  it('a run that stays up for the window refills the restart budget', async () => {
    const { server, supervised } = await supervise(1, 60);
    await supervised.start();
    for (let run = 1; run <= 3; run += 1) {
      await until(() => supervised.gateway?.status === 'ready', 'a ready gateway');
      await sleep(90);
      await failCurrentRun(supervised, server);
      expect(supervised.status).toBe('coolingDown');
    }
  });

  it('stop() from a running gateway drains it and ends the supervisor', async () => {
    const { supervised, sockets } = await supervise(2);
    sockets.lossy = false;
    await supervised.start();
    await supervised.stop();
    expect(supervised.status).toBe('stopped');
    expect(sockets.sockets.every((s) => s.readyState === WebSocket.CLOSED)).toBe(true);
  });

  it("runs each gateway as the supervisor's child in one actor system; a run's end reaches the supervisor as the typed output of its done event", async () => {
    const inspected: InspectionEvent[] = [];
    const { server, supervised } = await supervise(2, 60_000, { inspect: (event) => inspected.push(event) });
    const changes: GatewayStateChange[] = [];
    supervised.on('state', (change) => changes.push(change));
    await supervised.start();
    const first = supervised.gateway;
    expect(first?.actor).toBe(supervised.actor.getSnapshot().children.gateway);
    expect(first?.actor.system).toBe(supervised.actor.system);
    expect(first?.session()).toMatchObject({ sessionId: expect.any(String) as string });
    // The run's state events start at its very beginning, in createGateway's shape.
    expect(changes[0]).toEqual({ state: 'idle', generation: 0 });
    expect(changes[1]).toMatchObject({ state: 'connecting', kind: 'fresh', code: 'START' });
    expect(changes.at(-1)).toMatchObject({ state: 'ready', handshake: 'identify', code: 'START', generation: 1 });

    await failCurrentRun(supervised, server);
    await until(() => supervised.gateway?.status === 'ready', 'the second run to be ready');
    expect(supervised.gateway).not.toBe(first);
    expect(supervised.gateway?.actor.system).toBe(supervised.actor.system);

    const doneOutputs = inspected.flatMap((event) =>
      event.type === '@xstate.event' && event.event.type === 'xstate.done.actor.gateway' && event.actorRef === supervised.actor
        ? [(event.event as { output?: unknown }).output]
        : [],
    );
    expect(doneOutputs).toEqual([{ status: 'failed', failure: expect.objectContaining({ trigger: { type: 'drainFailed' } }) as unknown }]);
    // Every actor seen belongs to the one system, and every context stayed plain data.
    const actors = new Set(inspected.map((event) => event.actorRef as AnyActorRef));
    expect(actors.size).toBeGreaterThan(4);
    expect([...actors].every((actor) => actor.system === supervised.actor.system)).toBe(true);
    const problems = inspected.flatMap((event) => {
      const context = event.type === '@xstate.snapshot' ? (event.snapshot as { context?: unknown }).context : undefined;
      const problem = context === undefined ? null : jsonRoundTripProblem(context);
      return problem ? [`${(event.actorRef as AnyActorRef).id}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });
});
