import { describe, expect, it } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { gatewayMachine } from '../../src/machines/gatewayMachine.ts';

/**
 * The calls README shows for model-based tests with xstate/graph, exactly as written there: the
 * guards must hold for every event the traversal tries, including events they were not written
 * for, and the traversal must end.
 */

const valueKey = (value: unknown): string => JSON.stringify(value);

describe('xstate/graph on gatewayMachine', () => {
  it('getShortestPaths(gatewayMachine, { input }) works with the default events', () => {
    const paths = getShortestPaths(gatewayMachine, { input: { url: 'wss://gateway.discord.gg/?v=10&encoding=json' } });
    const reached = new Set(paths.map((path) => valueKey(path.state.value)));
    expect(reached).toEqual(new Set(['"idle"', '{"connecting":"fresh"}', '"closing"', '"stopped"', '"failed"']));
  });

  it('with events that carry reconnect outcomes and a serializeState (the call README shows), it reaches every state quickly', () => {
    const started = performance.now();
    // From README, "Use": the call as written there.
    const ok = { ok: true, handshake: 'identify', heartbeatInterval: 41_250, session: { sessionId: 's', resumeUrl: null } };
    const paths = getShortestPaths(gatewayMachine, {
      input: { url: 'wss://gateway.discord.gg/?v=10&encoding=json' },
      events: () =>
        [
          { type: 'start' },
          { type: 'stop' },
          { type: 'reconnect', fresh: false },
          { type: 'socket.closed', generation: 1, code: 1006, reason: '' },
          { type: 'xstate.done.actor.freshReconnect', output: ok },
          { type: 'xstate.done.actor.resumeReconnect', output: ok },
          { type: 'xstate.done.actor.drain', output: { drained: true } },
        ] as never, // done events are not in the machine's own event type
      serializeState: ({ value, context }) => JSON.stringify([value, context.session !== null]),
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    const reached = new Set(paths.map((path) => valueKey(path.state.value)));
    for (const state of ['"idle"', '{"connecting":"fresh"}', '{"connecting":"resume"}', '"ready"', '"closing"', '"stopped"']) {
      expect(reached, state).toContain(state);
    }
  });
});
