import { onTestFinished } from 'vitest';
import { createActor, setup, type ActorOptions, type AnyActorLogic, type AnyActorRef } from 'xstate';
import type { freshReconnectMachine } from '../../src/machines/freshReconnectMachine.ts';
import type { ReconnectInput } from '../../src/machines/reconnectCourse.ts';
import type { SocketCommand, SocketEvent, SocketRequest } from '../../src/machines/events.ts';
import { stateName } from './actors.ts';

/**
 * A reconnect actor under a parent that stands in for the gateway: it records the socket the
 * reconnect asks for and the commands it sends, and `emit` hands the reconnect a socket event as
 * the gateway relays one. The reconnect is the real machine; only its parent is scripted.
 */
export function hostReconnect(
  /** either reconnect: both are built by reconnectMachine() and share their types */
  reconnect: typeof freshReconnectMachine,
  input: ReconnectInput,
  clock: ActorOptions<AnyActorLogic>['clock'],
) {
  const requests: { generation: number; url: string }[] = [];
  const commands: SocketCommand[] = [];
  const states: string[] = [];
  const host = setup({
    types: { events: {} as SocketRequest | { type: 'halt' } },
    actors: { reconnect },
  }).createMachine({
    initial: 'running',
    states: {
      running: { invoke: { id: 'reconnect', src: 'reconnect', input }, on: { halt: 'halted' } },
      halted: {},
    },
    on: {
      'reconnect.openSocket': { actions: ({ event }) => void requests.push({ generation: event.generation, url: event.url }) },
      'reconnect.toSocket': { actions: ({ event }) => void commands.push(event.command) },
    },
  });
  const actor = createActor(host, {
    clock,
    inspect: (event) => {
      if (event.type !== '@xstate.snapshot' || (event.actorRef as AnyActorRef).id !== 'reconnect') return;
      const name = stateName((event.snapshot as { value?: unknown }).value);
      if (states.at(-1) !== name) states.push(name);
    },
  });
  onTestFinished(() => {
    actor.stop();
  });
  actor.start();
  const child = actor.getSnapshot().children.reconnect as AnyActorRef;
  return {
    /** the reconnect actor itself */
    actor: child,
    requests,
    commands,
    states,
    emit(event: SocketEvent) {
      child.send(event);
    },
    /** the gateway leaves the state that runs the reconnect: the reconnect is stopped */
    halt() {
      actor.send({ type: 'halt' });
    },
  };
}
