import type { ReconnectOutput } from '../../src/machines/reconnectCourse.ts';
import type { ServerAct, World } from './world.ts';

/** Handshake phases where the server can still act on a socket it has not answered yet. */
const handshakePhases = ['handshake.identifying', 'handshake.resuming'];

/** Holds READY/RESUMED back, then has the server do `act` once the handshake is waiting for it. */
export function duringHandshake(world: World, generation: number, act: ServerAct): void {
  const arrangement = world.arrange(generation);
  arrangement.stallReady = true;
  arrangement.reactions ??= [];
  for (const phase of handshakePhases) {
    const reaction = { phase, act, fired: false };
    arrangement.reactions.push(reaction);
  }
}

/** Arranges for the reconnect of `generation` to end with `output`. */
export function arrangeOutcome(world: World, generation: number, output: ReconnectOutput): void {
  if (output.ok) return;
  const arrangement = world.arrange(generation);
  const { trigger } = output;
  switch (trigger.type) {
    case 'helloTimeout':
      arrangement.stallHello = true;
      return;
    case 'readyTimeout':
      arrangement.stallReady = true;
      return;
    case 'connectTimeout':
      arrangement.redirect = 'silent';
      return;
    case 'close':
      return duringHandshake(world, generation, (server) => (trigger.code === 1006 ? server.kill() : server.closeWith(trigger.code)));
    case 'invalidSession':
      return duringHandshake(world, generation, (server) => server.invalidateSession(trigger.resumable));
    case 'reconnectRequested':
      return duringHandshake(world, generation, (server) => server.requestReconnect());
    case 'protocolError':
      return duringHandshake(world, generation, (server) => server.sendRaw('{"op":'));
    case 'socketFailure':
      arrangement.failCreate = true;
      return;
    case 'connectFailed':
      if (trigger.stage === 'create') arrangement.failCreate = true;
      else arrangement.redirect = 'refused';
      return;
    case 'drainFailed':
      arrangement.drainClose = 'ignore';
      arrangement.drainTerminate = 'ignore';
      return;
    default:
      throw new Error(`no arrangement makes a reconnect end with ${trigger.type}`);
  }
}
