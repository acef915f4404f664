import type { Gateway } from '../src/index.ts';
import type { ChaosGateway } from '../src/testing/index.ts';

/** One fault the demo can inject, and the recovery the table promises for it. */
export interface Fault {
  id: string;
  label: string;
  expect: string;
  inject(server: ChaosGateway, gateway: Gateway): void | Promise<unknown>;
}

export const faults: Fault[] = [
  { id: 'kill', label: 'kill the socket (1006)', expect: 'resume', inject: (s) => s.kill() },
  { id: 'op7', label: 'op 7 RECONNECT', expect: 'resume at once', inject: (s) => s.requestReconnect() },
  { id: 'close4000', label: 'server close 4000', expect: 'resume', inject: (s) => s.closeWith(4000, 'unknown error') },
  {
    id: 'op9resumable',
    label: 'op 9 INVALID_SESSION d=true',
    expect: 'resume after a short wait',
    inject: (s) => s.invalidateSession(true),
  },
  { id: 'op9', label: 'op 9 INVALID_SESSION d=false', expect: 'fresh after a short wait', inject: (s) => s.invalidateSession(false) },
  { id: 'close4007', label: 'server close 4007 (invalid seq)', expect: 'fresh', inject: (s) => s.closeWith(4007, 'invalid seq') },
  {
    id: 'stallHello',
    label: 'stall HELLO three times, then kill',
    expect: 'resume, resume, resume, then fresh',
    inject: (s) => {
      s.stallHello(3);
      s.kill();
    },
  },
  {
    id: 'stallReady',
    label: 'stall RESUMED once, then kill',
    expect: 'resume times out, then fresh',
    inject: (s) => {
      s.stallReady(1);
      s.kill();
    },
  },
  {
    id: 'dropAcks',
    label: 'drop heartbeat ACKs, go silent (zombie)',
    expect: 'terminate at once, resume',
    // Any frame proves the peer alive, so a zombie is a server that also stops its event stream.
    inject: (s) => {
      silenced = true;
      s.stopStream();
      s.dropAcks(true);
    },
  },
  {
    id: 'neverClose',
    label: 'server never completes the close handshake, then reconnect()',
    expect: 'drain times out, terminate(), resume',
    inject: (s, g) => {
      s.neverCloseHandshake(true);
      return g.reconnect().finally(() => s.neverCloseHandshake(false));
    },
  },
  { id: 'fresh', label: 'reconnect({ fresh: true })', expect: 'fresh', inject: (_s, g) => g.reconnect({ fresh: true }) },
  {
    id: 'close4004',
    label: 'server close 4004 (authentication failed)',
    expect: 'failed, no retry',
    inject: (s) => s.closeWith(4004, 'Authentication failed.'),
  },
];

/** Events per second the demo's chaos gateway streams while nothing is wrong. */
export const streamRate = 200;
let silenced = false;

/** Faults that leave a fault mode switched on until the recovery starts. */
export function clearStickyFaults(server: ChaosGateway): void {
  server.dropAcks(false);
  if (silenced) {
    silenced = false;
    server.startStream(streamRate);
  }
}
