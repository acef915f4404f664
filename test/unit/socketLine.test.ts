import { describe, expect, it } from 'vitest';
import { LineSealed, SecondSocketRefused, SocketLine } from '../../src/connection/socketLine.ts';
import { SocketState } from '../../src/types.ts';
import { FakeSocket } from '../support/fakeSocket.ts';

describe('SocketLine', () => {
  it('opens a first socket, counts it and reports it live', () => {
    const line = new SocketLine();
    expect(line.isLive).toBe(false);
    const socket = line.open(() => new FakeSocket());
    expect(line.socket).toBe(socket);
    expect(line.opened).toBe(1);
    expect(line.isLive).toBe(true);
    expect(line.toJSON()).toEqual({ live: true, sealed: false, opened: 1 });
  });

  it.each([
    ['connecting', SocketState.CONNECTING],
    ['open', SocketState.OPEN],
    ['closing', SocketState.CLOSING],
  ])('refuses a second socket while the first is %s, without calling the factory', (_label, readyState) => {
    const line = new SocketLine();
    const first = line.open(() => new FakeSocket()) as FakeSocket;
    first.readyState = readyState;
    let created = 0;
    expect(() =>
      line.open(() => {
        created += 1;
        return new FakeSocket();
      }),
    ).toThrow(SecondSocketRefused);
    expect(created).toBe(0);
    expect(line.socket).toBe(first);
    expect(line.opened).toBe(1);
  });

  it('opens the next socket once the previous one is CLOSED', () => {
    const line = new SocketLine();
    const first = line.open(() => new FakeSocket()) as FakeSocket;
    first.finishClose(1000);
    const second = line.open(() => new FakeSocket());
    expect(second).not.toBe(first);
    expect(line.socket).toBe(second);
    expect(line.opened).toBe(2);
  });

  it('refuses after seal(), even when no socket is live', () => {
    const line = new SocketLine();
    line.seal();
    let created = 0;
    expect(() =>
      line.open(() => {
        created += 1;
        return new FakeSocket();
      }),
    ).toThrow(LineSealed);
    expect(created).toBe(0);
    expect(line.sealed).toBe(true);
    expect(line.opened).toBe(0);
  });

  it('seal() refuses before the liveness check: a sealed line with a live socket says LineSealed', () => {
    const line = new SocketLine();
    line.open(() => new FakeSocket());
    line.seal();
    expect(() => line.open(() => new FakeSocket())).toThrow(LineSealed);
  });

  it('attaches an error sink to every socket, so a late error cannot crash the process', () => {
    const line = new SocketLine();
    const socket = line.open(() => new FakeSocket()) as FakeSocket;
    expect(socket.listenerCounts()).toEqual({ open: 0, message: 0, close: 0, error: 1 });
    expect(() => socket.emitError(new Error('late'))).not.toThrow();
  });

  it('a factory that throws leaves the line as it was', () => {
    const line = new SocketLine();
    expect(() =>
      line.open(() => {
        throw new Error('ENOTFOUND');
      }),
    ).toThrow('ENOTFOUND');
    expect(line.opened).toBe(0);
    expect(line.socket).toBeUndefined();
    expect(line.open(() => new FakeSocket())).toBeDefined();
  });

  it('serialises without the socket', () => {
    const line = new SocketLine();
    line.open(() => new FakeSocket());
    expect(JSON.parse(JSON.stringify({ line }))).toEqual({ line: { live: true, sealed: false, opened: 1 } });
  });
});
