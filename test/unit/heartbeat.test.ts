import { afterEach, describe, expect, it, vi } from 'vitest';
import { sendTo, setup } from 'xstate';
import { createSocketActor } from '../../src/actors/socket.ts';
import type { SocketCommand, SocketEvent } from '../../src/machines/events.ts';
import { openConnection } from '../../src/connection/connection.ts';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import { startActor } from '../support/actors.ts';
import { serverFrames } from '../support/discordFrames.ts';
import { FakeSocket } from '../support/fakeSocket.ts';
import { ManualClock } from '../support/manualClock.ts';

const INTERVAL = 40_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The heartbeat as the socket's actor keeps it: the real socket actor on a fake socket, under a
 * parent that moves to `zombie` when the actor reports one. Beats are the op 1 frames the socket
 * writes, noted with the clock's time.
 */
function runHeartbeat(interval = INTERVAL) {
  const clock = new ManualClock();
  const beats: number[] = [];
  let socket: FakeSocket | undefined;
  const logic = createSocketActor({
    createSocket: (url) => {
      const made = new FakeSocket(url);
      const send = made.send.bind(made);
      made.send = (data, done) => {
        if ((JSON.parse(data) as { op: number }).op === 1) beats.push(clock.now());
        send(data, done);
      };
      return (socket = made);
    },
    protocol: discordProtocol({ token: 'heartbeat-token', intents: 1 }),
    onDispatch: () => {},
    onError: () => {},
  });
  const parentMachine = setup({
    types: { events: {} as SocketEvent | { type: 'tell'; command: SocketCommand } },
    actors: { socket: logic },
  }).createMachine({
    initial: 'alive',
    states: {
      alive: {
        invoke: { id: 'socket', src: 'socket', input: { connection: openConnection(), generation: 1, url: 'wss://gateway.example/' } },
        on: {
          'socket.zombie': 'zombie',
          tell: { actions: sendTo('socket', ({ event }) => (event.type === 'tell' ? event.command : { type: 'retire' })) },
        },
      },
      zombie: {},
    },
  });
  const parent = startActor(parentMachine, { clock });
  if (!socket) throw new Error('the socket actor made no socket');
  const opened: FakeSocket = socket;
  opened.open();
  opened.receive(serverFrames.hello(interval));
  const ack = () => opened.receive(serverFrames.heartbeatAck());
  const tell = (command: SocketCommand) => parent.send({ type: 'tell', command });
  return { parent, clock, beats, ack, tell, socket: opened };
}

describe('the heartbeat a socket keeps from HELLO on', () => {
  it('sends the first beat after interval × Math.random() from HELLO', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { clock, beats } = runHeartbeat();

    clock.advance(INTERVAL * 0.25 - 1);
    expect(beats).toEqual([]);
    clock.advance(1);
    expect(beats).toEqual([10_000]);
  });

  it('jitters the first beat within [0, interval)', () => {
    for (const draw of [0, 0.5, 0.999]) {
      vi.spyOn(Math, 'random').mockReturnValue(draw);
      const { clock, beats, parent } = runHeartbeat();
      clock.advance(INTERVAL);
      expect(beats[0]).toBe(INTERVAL * draw);
      parent.stop();
    }
  });

  it('beats every interval while each beat is acknowledged, with the last sequence', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { clock, beats, ack, parent, socket } = runHeartbeat();

    socket.receive(serverFrames.dispatch('MESSAGE_CREATE', 7));
    for (let i = 0; i < 4; i += 1) {
      clock.advance(i === 0 ? 10_000 : INTERVAL);
      ack();
    }
    expect(beats).toEqual([10_000, 50_000, 90_000, 130_000]);
    expect(socket.sentFrames().filter((frame) => frame.op === 1)).toEqual(Array(4).fill({ op: 1, d: 7 }));
    expect(parent.getSnapshot().value).toBe('alive');
  });

  it('an ack arriving just before the next beat is due still counts', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { clock, beats, ack, parent } = runHeartbeat();
    clock.flush();
    clock.advance(INTERVAL - 1);
    ack();
    clock.advance(1);
    expect(beats).toEqual([0, INTERVAL]);
    expect(parent.getSnapshot().value).toBe('alive');
  });

  it('a beat not acknowledged before the next one is a zombie: reported once, no further beat, no timer left', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { clock, beats, parent } = runHeartbeat();

    clock.advance(10_000);
    clock.advance(INTERVAL - 1);
    expect(parent.getSnapshot().value).toBe('alive');
    clock.advance(1);

    expect(beats).toEqual([10_000]);
    expect(parent.getSnapshot().value).toBe('zombie');
    expect(clock.pending).toBe(0);
  });

  it('any frame since the last beat proves the peer alive, even without an ACK', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { clock, beats, parent, socket } = runHeartbeat();

    clock.advance(10_000);
    // A busy server: events keep arriving, the ACK is late.
    for (let s = 1; s <= 3; s += 1) socket.receive(serverFrames.dispatch('MESSAGE_CREATE', s));
    clock.advance(INTERVAL);
    expect(parent.getSnapshot().value).toBe('alive');
    expect(beats).toEqual([10_000, 10_000 + INTERVAL]);
    // Then silence: no ACK and no frame for a whole interval.
    clock.advance(INTERVAL);
    expect(parent.getSnapshot().value).toBe('zombie');
  });

  it('goes zombie after acked beats as soon as one beat is missed', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { clock, beats, ack, parent } = runHeartbeat();
    clock.flush();
    ack();
    clock.advance(INTERVAL);
    ack();
    clock.advance(INTERVAL);
    clock.advance(INTERVAL);

    expect(beats).toEqual([0, INTERVAL, 2 * INTERVAL]);
    expect(parent.getSnapshot().value).toBe('zombie');
  });

  it('an ack before any beat does not count for the first beat', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { clock, ack, parent } = runHeartbeat();
    ack();
    clock.advance(INTERVAL * 0.5);
    clock.advance(INTERVAL);
    expect(parent.getSnapshot().value).toBe('zombie');
  });

  it('extra acks for one beat do not carry over to the next', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { clock, ack, parent } = runHeartbeat();
    clock.flush();
    ack();
    ack();
    clock.advance(INTERVAL);
    clock.advance(INTERVAL);
    expect(parent.getSnapshot().value).toBe('zombie');
  });

  it("the ready session keeps the handshake's beat: a second HELLO changes nothing", () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { clock, beats, ack, tell, socket } = runHeartbeat();
    tell({ type: 'sessionReady' });
    socket.receive(serverFrames.hello(1_000));
    clock.advance(INTERVAL * 0.5);
    ack();
    clock.advance(INTERVAL);
    expect(beats).toEqual([INTERVAL * 0.5, INTERVAL * 1.5]);
  });

  it('a retired socket beats no more, and never reports a zombie', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { clock, beats, tell, parent } = runHeartbeat();
    tell({ type: 'retire' });
    expect(clock.pending).toBe(0);
    clock.advance(10 * INTERVAL);
    expect(beats).toEqual([]);
    expect(parent.getSnapshot().value).toBe('alive');
  });

  it('a closed socket beats no more', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { clock, beats, socket } = runHeartbeat();
    socket.peerClose(1006);
    expect(clock.pending).toBe(0);
    clock.advance(10 * INTERVAL);
    expect(beats).toEqual([]);
  });

  it('stopping the actor stops the heartbeat and its timer', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { clock, beats, parent } = runHeartbeat();
    parent.stop();
    expect(clock.pending).toBe(0);
    clock.advance(10 * INTERVAL);
    expect(beats).toEqual([]);
  });
});
