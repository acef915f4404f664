import type { SocketDependencies } from '../actors/socket.ts';
import { SequenceLedger } from '../core/sequenceLedger.ts';
import { SocketLine } from './socketLine.ts';

/**
 * A plain-data name for one gateway's connection resources. The statecharts' context and their
 * actors' input carry this token, never the resources themselves, so every snapshot stays plain
 * data (it survives `JSON.stringify` unchanged). The token is a fresh object per connection and
 * the resources are keyed by its identity in a WeakMap: they live exactly as long as something
 * still names the connection, and nothing needs releasing.
 */
export interface ConnectionRef {
  readonly connection: number;
}

/**
 * What a connection keeps outside the statecharts because it changes outside any transition: the
 * socket line (the one socket and its frame counters), the sequence ledger (moved by every
 * DISPATCH, which must not cost a transition) and the gateway's I/O.
 */
export interface Connection {
  readonly line: SocketLine;
  ledger: SequenceLedger;
  readonly io: SocketDependencies | undefined;
}

const connections = new WeakMap<ConnectionRef, Connection>();
let opened = 0;

export interface ConnectionOptions {
  /** the I/O its sockets use */
  io?: SocketDependencies;
  /** its ledger starts after this sequence (a restored session) */
  sequence?: number | null;
  /** an existing line or ledger (a harness that prepares a socket ahead) */
  line?: SocketLine;
  ledger?: SequenceLedger;
}

/** A new connection: its own line and ledger unless given, and the I/O its sockets use. */
export function openConnection(options: ConnectionOptions = {}): ConnectionRef {
  opened += 1;
  const ref: ConnectionRef = { connection: opened };
  connections.set(ref, {
    line: options.line ?? new SocketLine(),
    ledger: options.ledger ?? new SequenceLedger(options.sequence ?? null),
    io: options.io,
  });
  return ref;
}

/**
 * The resources a token names. A token this process did not open (one read back from JSON, or made
 * by hand in a test) gets resources of its own on first use, without I/O.
 */
export function connectionOf(ref: ConnectionRef): Connection {
  let connection = connections.get(ref);
  if (!connection) {
    connection = { line: new SocketLine(), ledger: new SequenceLedger(), io: undefined };
    connections.set(ref, connection);
  }
  return connection;
}
