import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyEventObject, InspectionEvent, MachineContext } from 'xstate';
import { createRedactor } from '../../visualizer/redact.ts';
import { createGateway, discordProtocol, GatewayError, type Gateway } from '../../src/index.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';

/** gateway.inspect(): an inspector attached after creation, as the offline inspector does. */

const token = 'hook-test-token';
let server: ChaosGateway | undefined;
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  await server?.close();
  gateway = undefined;
  server = undefined;
});

async function start(inspect?: Parameters<typeof createGateway>[0]['inspect']) {
  server = await startChaosGateway({ heartbeatInterval: 10_000, token });
  gateway = createGateway({
    url: server.url,
    protocol: discordProtocol({ token, intents: 1 }),
    timeouts: { hello: 300, ready: 300, drain: 100, terminateGrace: 60 },
    backoff: { baseMs: 10, maxMs: 40 },
    ...(inspect ? { inspect } : {}),
  });
  return gateway;
}

const snapshotsOf = (events: InspectionEvent[], id: string) =>
  events.filter((e) => e.type === '@xstate.snapshot' && (e.actorRef as { id?: string }).id === id);

describe('gateway.inspect()', () => {
  it('delivers inspection events from the moment it is added, next to the inspect option, until removed', async () => {
    const fromOption: InspectionEvent[] = [];
    const g = await start((event) => fromOption.push(event));
    const added: InspectionEvent[] = [];
    const remove = g.inspect((event) => added.push(event));
    await g.start();
    expect(added.some((e) => e.type === '@xstate.actor' && (e.actorRef as { id?: string }).id === 'freshReconnect')).toBe(true);
    expect(snapshotsOf(added, 'freshReconnect').length).toBeGreaterThan(0);
    expect(added.length).toBeGreaterThan(0);
    // The option's observer saw at least as much: it was there from creation.
    expect(fromOption.length).toBeGreaterThanOrEqual(added.length);

    remove();
    const count = added.length;
    await g.reconnect();
    expect(added.length).toBe(count);
    expect(snapshotsOf(fromOption, 'resumeReconnect').length).toBeGreaterThan(0);
  });

  it('accepts an observer object and a @statelyai/inspect-style inspector', async () => {
    const g = await start();
    const viaNext: string[] = [];
    const viaInspector: string[] = [];
    g.inspect({ next: (event) => viaNext.push(event.type) });
    g.inspect({ inspect: { next: (event: InspectionEvent) => viaInspector.push(event.type) } });
    await g.start();
    expect(viaNext).toContain('@xstate.snapshot');
    expect(viaInspector).toEqual(viaNext);
    expect(() => g.inspect(undefined as never)).toThrow(TypeError);
  });

  it('takes a real @statelyai/inspect inspector, as the option or later, and its sanitizers can use the redactor', async () => {
    const redact = createRedactor([token]);
    const options = {
      sanitizeEvent: (event: AnyEventObject) => redact(event) as AnyEventObject,
      sanitizeContext: (context: MachineContext) => redact(context) as MachineContext,
    };
    const fromOption: StatelyInspectionEvent[] = [];
    const attachedLater: StatelyInspectionEvent[] = [];
    const g = await start(createInspector({ send: (event) => void fromOption.push(event) }, options));
    g.inspect(createInspector({ send: (event) => void attachedLater.push(event) }, options));
    await g.start();
    for (const events of [fromOption, attachedLater]) {
      const actors = events.flatMap((e) => (e.type === '@xstate.actor' ? [e.name] : []));
      expect(actors).toEqual(expect.arrayContaining(['freshReconnect', 'drain', 'socket']));
      expect(events.some((e) => e.type === '@xstate.snapshot')).toBe(true);
    }
    // Only the inspector given at creation saw the gateway actor itself being created.
    expect(fromOption.find((e) => e.type === '@xstate.actor')).toMatchObject({ name: 'gateway', sessionId: g.actor.sessionId });
    expect(attachedLater.find((e) => e.type === '@xstate.actor')?.sessionId).not.toBe(g.actor.sessionId);
    expect(JSON.stringify([fromOption, attachedLater])).not.toContain(token);
  });

  it('keeps a throwing inspector away from the statechart: reported on error, the others still served', async () => {
    const g = await start();
    const errors: Error[] = [];
    g.on('error', (error) => errors.push(error));
    g.inspect(() => {
      throw new Error('inspector bug');
    });
    const healthy: InspectionEvent[] = [];
    g.inspect((event) => healthy.push(event));
    await g.start();
    expect(g.status).toBe('ready');
    expect(healthy.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e instanceof GatewayError && e.code === 'INSPECTOR_THREW')).toBe(true);
  });

  it('adding the same observer twice makes two subscriptions, each removable', async () => {
    const g = await start();
    const seen: InspectionEvent[] = [];
    const observer = (event: InspectionEvent) => seen.push(event);
    const first = g.inspect(observer);
    const second = g.inspect(observer);
    first();
    await g.start();
    const once = seen.length;
    expect(once).toBeGreaterThan(0);
    second();
    await g.reconnect();
    expect(seen.length).toBe(once);
  });
});
