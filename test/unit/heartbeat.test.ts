import { connectionOf, openConnection } from '../../src/machines/connection.ts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sendTo, setup, type InspectionEvent } from 'xstate';
import { heartbeatMachine } from '../../src/machines/heartbeatMachine.ts';
import { inspectedId, startActor, stateName } from '../support/actors.ts';
import { ManualClock } from '../support/manualClock.ts';

const INTERVAL = 40_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Runs the heartbeat as the child of a tiny parent that notes when each beat arrives, forwards
 * acks on request, and moves to `zombie` when the heartbeat ends.
 */
function runHeartbeat(interval = INTERVAL, logic = heartbeatMachine) {
  const clock = new ManualClock();
  const connection = openConnection();
  const { line } = connectionOf(connection);
  const beats: number[] = [];
  const heartbeatStates: string[] = [];
  const parentMachine = setup({
    types: { events: {} as { type: 'heartbeat.beat' } | { type: 'ack' } },
    actors: { heartbeat: logic },
  }).createMachine({
    initial: 'alive',
    states: {
      alive: {
        invoke: { id: 'heartbeat', src: 'heartbeat', input: { interval, connection }, onDone: 'zombie' },
        on: {
          'heartbeat.beat': { actions: () => beats.push(clock.now()) },
          ack: { actions: sendTo('heartbeat', { type: 'ack' }) },
        },
      },
      zombie: {},
    },
  });
  const inspect = (event: InspectionEvent) => {
    if (event.type !== '@xstate.snapshot' || inspectedId(event) !== 'heartbeat') return;
    const name = stateName((event.snapshot as { value?: unknown }).value);
    if (heartbeatStates.at(-1) !== name) heartbeatStates.push(name);
  };
  const parent = startActor(parentMachine, { clock, inspect });
  const ack = () => parent.send({ type: 'ack' });
  return { parent, clock, beats, heartbeatStates, ack, line };
}

describe('heartbeat machine', () => {
  it('sends the first beat after interval × Math.random()', () => {
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

  it('puts the first beat within firstBeatWithin when given', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const clock = new ManualClock();
    const beats: number[] = [];
    const parentMachine = setup({
      types: { events: {} as { type: 'heartbeat.beat' } },
      actors: { heartbeat: heartbeatMachine },
    }).createMachine({
      invoke: { id: 'heartbeat', src: 'heartbeat', input: { interval: INTERVAL, connection: openConnection(), firstBeatWithin: 1_000 } },
      on: { 'heartbeat.beat': { actions: () => beats.push(clock.now()) } },
    });
    startActor(parentMachine, { clock });
    clock.advance(499);
    expect(beats).toEqual([]);
    clock.advance(1);
    expect(beats).toEqual([500]);
  });

  it('a provided firstBeat delay replaces the random one', () => {
    const { clock, beats } = runHeartbeat(INTERVAL, heartbeatMachine.provide({ delays: { firstBeat: 123 } }));
    clock.advance(123);
    expect(beats).toEqual([123]);
  });

  it('beats every interval while each beat is acknowledged', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { clock, beats, ack, parent, heartbeatStates } = runHeartbeat();

    for (let i = 0; i < 4; i += 1) {
      clock.advance(i === 0 ? 10_000 : INTERVAL);
      ack();
    }
    expect(beats).toEqual([10_000, 50_000, 90_000, 130_000]);
    expect(parent.getSnapshot().value).toBe('alive');
    expect(heartbeatStates).toEqual(['waitingFirstBeat', 'beating']);
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

  it('a beat not acknowledged before the next one ends in `zombie` without beating again', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { clock, beats, parent, heartbeatStates } = runHeartbeat();

    clock.advance(10_000);
    clock.advance(INTERVAL - 1);
    expect(parent.getSnapshot().value).toBe('alive');
    clock.advance(1);

    expect(beats).toEqual([10_000]);
    expect(heartbeatStates).toEqual(['waitingFirstBeat', 'beating', 'zombie']);
    expect(parent.getSnapshot().value).toBe('zombie');
    expect(parent.getSnapshot().children.heartbeat).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('any frame since the last beat proves the peer alive, even without an ACK', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { clock, beats, parent, line } = runHeartbeat();

    clock.advance(10_000);
    // A busy server: events keep arriving, the ACK is late.
    for (let frame = 0; frame < 3; frame += 1) line.noteFrame();
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

  it('stopping the parent stops the heartbeat and its timers', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { clock, beats, parent } = runHeartbeat();
    parent.stop();
    expect(clock.pending).toBe(0);
    clock.advance(10 * INTERVAL);
    expect(beats).toEqual([]);
  });
});
