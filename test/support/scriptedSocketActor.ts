import { fromCallback } from 'xstate';
import type { SocketInput } from '../../src/actors/socket.ts';
import type { SocketCommand, SocketEvent } from '../../src/machines/events.ts';

/**
 * A socket actor the test drives directly, to stand in for `createSocketActor` through
 * `machine.provide({ actors: { socket } })`. It records its inputs and the commands it receives;
 * `emit` sends a socket event to its parent as the real actor would.
 */
export function scriptedSocketActor(options: { throwOnStart?: Error } = {}) {
  const inputs: SocketInput[] = [];
  const commands: SocketCommand[] = [];
  let sendBack: ((event: SocketEvent) => void) | undefined;
  let running = 0;

  const logic = fromCallback<SocketCommand, SocketInput>(({ input, sendBack: send, receive }) => {
    if (options.throwOnStart) throw options.throwOnStart;
    inputs.push(input);
    running += 1;
    sendBack = send;
    receive((command) => commands.push(command));
    return () => {
      running -= 1;
      sendBack = undefined;
    };
  });

  return {
    logic,
    inputs,
    commands,
    /** how many of these actors are running now */
    get running() {
      return running;
    },
    emit(event: SocketEvent) {
      if (!sendBack) throw new Error('no socket actor is running');
      sendBack(event);
    },
  };
}
