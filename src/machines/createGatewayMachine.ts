import { freshReconnectMachine } from './freshReconnectMachine.ts';
import { createIdentifyTurn } from '../actors/identifyTurn.ts';
import { createSocketActor, socketActor, type SocketDependencies } from '../actors/socket.ts';
import { gatewayMachine } from './gatewayMachine.ts';

/**
 * The statechart with a real socket actor (the gateway spawns every socket's owner). Implementations
 * given to a parent do not reach the machines it invokes, so a fixed identify turn is given to the
 * fresh reconnect too.
 */
function withSocket(socket: ReturnType<typeof createSocketActor>, identifyTurn?: ReturnType<typeof createIdentifyTurn>) {
  if (!identifyTurn) return gatewayMachine.provide({ actors: { socket } });
  return gatewayMachine.provide({
    actors: { socket, freshReconnect: freshReconnectMachine.provide({ actors: { identifyTurn } }) },
  });
}

/**
 * One engine for every gateway: its socket actor takes the I/O from the gateway's connection.
 * Building a provided machine copies its state nodes, so it is done once, not per gateway.
 */
const sharedEngine = withSocket(socketActor);

/**
 * The statechart ready to run. Without arguments it is the shared engine (pass `io` in the input);
 * with dependencies it is a machine of its own whose socket actor uses them.
 */
export function createGatewayMachine(deps?: SocketDependencies) {
  return deps ? withSocket(createSocketActor(deps), createIdentifyTurn(deps)) : sharedEngine;
}
