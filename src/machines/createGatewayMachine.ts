import { freshReconnectMachine } from '../actors/freshReconnect.ts';
import { resumeReconnectMachine } from '../actors/resumeReconnect.ts';
import { createSocketActor, type SocketDependencies } from '../actors/socket.ts';
import { gatewayMachine } from './gateway.ts';

/**
 * The statechart with a real socket actor in every place that names one. Implementations given to
 * a parent do not reach the machines it invokes, so the reconnect actors get theirs here too.
 */
export function createGatewayMachine(deps: SocketDependencies) {
  const socket = createSocketActor(deps);
  return gatewayMachine.provide({
    actors: {
      socket,
      freshReconnect: freshReconnectMachine.provide({ actors: { socket } }),
      resumeReconnect: resumeReconnectMachine.provide({ actors: { socket } }),
    },
  });
}
