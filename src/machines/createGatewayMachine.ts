import { freshReconnectMachine } from './freshReconnectMachine.ts';
import { resumeReconnectMachine } from './resumeReconnectMachine.ts';
import { createIdentifyTurn, identifyTurnActor } from '../actors/identifyTurn.ts';
import { createSocketActor, socketActor, type SocketDependencies } from '../actors/socket.ts';
import { gatewayMachine } from './gatewayMachine.ts';

/**
 * The statechart with a real socket actor in every place that names one. Implementations given to
 * a parent do not reach the machines it invokes, so the reconnect actors get theirs here too.
 */
function withSocket(socket: ReturnType<typeof createSocketActor>, identifyTurn = identifyTurnActor) {
  return gatewayMachine.provide({
    actors: {
      socket,
      freshReconnect: freshReconnectMachine.provide({ actors: { socket, identifyTurn } }),
      resumeReconnect: resumeReconnectMachine.provide({ actors: { socket } }),
    },
  });
}

/**
 * One engine for every gateway: its socket actor takes the I/O from the gateway's input (`io`).
 * Building a provided machine copies every state node of three machines, tens of KiB, so it is
 * done once, not per gateway.
 */
const sharedEngine = withSocket(socketActor);

/**
 * The statechart ready to run. Without arguments it is the shared engine (pass `io` in the input);
 * with dependencies it is a machine of its own whose socket actor uses them.
 */
export function createGatewayMachine(deps?: SocketDependencies) {
  return deps ? withSocket(createSocketActor(deps), createIdentifyTurn(deps)) : sharedEngine;
}
