import { createActor, sendTo, setup } from 'xstate';
import { createSocketActor } from '../../src/actors/socket.ts';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import type { TransportCompression } from '../../src/compression/transportCompression.ts';
import type { SocketEvent } from '../../src/machines/events.ts';
import { SequenceLedger } from '../../src/core/sequenceLedger.ts';
import { SocketLine } from '../../src/connection/socketLine.ts';
import type { DispatchPayload } from '../../src/types.ts';
import { FakeSocket } from '../support/fakeSocket.ts';
import { openConnection } from '../../src/connection/connection.ts';

/**
 * The real socket actor (decoder, ledger, heartbeat replies) under a parent that only records
 * what it is sent, on a fake socket: the same frames as the real-socket fuzz, thousands per second.
 */
export class SocketActorHarness {
  readonly events: SocketEvent[] = [];
  readonly errors: Error[] = [];
  readonly dispatched: DispatchPayload[] = [];
  readonly ledger = new SequenceLedger();
  readonly socket: FakeSocket;
  private readonly actor;

  /** `compression`: the socket reads a compressed stream, as with createGateway({ compression }) */
  constructor(token: string, compression?: TransportCompression) {
    let created: FakeSocket | undefined;
    const socketLogic = createSocketActor({
      createSocket: (url) => (created = new FakeSocket(url)),
      protocol: discordProtocol({ token, intents: 513 }),
      onDispatch: (payload) => this.dispatched.push(payload),
      onError: (error) => this.errors.push(error),
      compression,
    });
    // As in the engine: the socket's one actor opens it, and once the handshake succeeded the
    // gateway tells it that it carries the ready session; the frames under test meet that session.
    const line = new SocketLine();
    const input = { connection: openConnection({ line, ledger: this.ledger }), generation: 1, url: 'wss://gateway.example/' };
    const parent = setup({ actors: { socket: socketLogic } }).createMachine({
      invoke: { id: 'socket', src: 'socket', input },
      on: {
        sessionReady: { actions: sendTo('socket', { type: 'sessionReady' }) },
        '*': { actions: ({ event }) => void this.events.push(event as SocketEvent) },
      },
    });
    this.actor = createActor(parent).start();
    if (!created) throw new Error('the socket actor did not open a socket');
    this.socket = created;
    this.socket.open();
    this.actor.send({ type: 'sessionReady' });
    this.events.length = 0;
  }

  /** Delivers one frame and returns what the actor did with it. */
  receive(data: string | Uint8Array, binary: boolean) {
    this.events.length = 0;
    this.errors.length = 0;
    this.dispatched.length = 0;
    const sentBefore = this.socket.sent.length;
    this.socket.receive(data, binary);
    return {
      events: [...this.events],
      errors: [...this.errors],
      dispatched: [...this.dispatched],
      sent: this.socket.sent.slice(sentBefore),
    };
  }

  stop(): void {
    this.actor.stop();
  }
}
