/**
 * What the fuzzer sends, as printable data. A frame is a tree of fields whose leaves are JSON
 * values, raw JSON text (for what JSON.stringify cannot write: 1e999, nesting 10,000 deep) or a
 * sequence number relative to the client's ledger at send time (backwards, duplicate, jump).
 */

import type { StreamCompression } from '../../src/compression/transportCompression.ts';
import { createStreamCompressor } from '../../src/testing/streamCompression.ts';

export type Node =
  | { json: unknown }
  | { raw: string }
  | { fields: Field[] }
  /** the client's last sequence number plus `delta` (the ledger is only known when the case runs) */
  | { seq: number };

export type Field = [key: string, value: Node];

/** When the frame is sent: on a ready session, instead of HELLO, or instead of READY. */
export type Phase = 'ready' | 'hello' | 'identify';

export type Body =
  | { as: 'node'; node: Node }
  /** sent verbatim as a text frame */
  | { as: 'text'; text: string }
  /** bytes: a binary frame, or a text frame that is not UTF-8 */
  | { as: 'bytes'; bytes: number[]; binary: boolean }
  /** valid JSON padded to this many bytes over the client's max payload */
  | { as: 'oversize'; excess: number }
  /**
   * A fault of the compressed stream itself, sent past the server's compressor: `garbage` (a
   * block of the reserved type 3, then random bytes), `text` (a text frame), `foreign` (the first
   * message of another stream, header and all, in the middle of this one). Generated only for
   * compressed runs.
   */
  | { as: 'stream'; fault: 'garbage' | 'text' | 'foreign'; bytes: number[] };

export interface FuzzCase {
  /** what was generated, for reports: e.g. `HELLO d.heartbeat_interval := "NaN"` */
  label: string;
  phase: Phase;
  body: Body;
}

export interface Rendered {
  data: string | Buffer;
  binary: boolean;
  /** on a compressed connection: sent as it is, past the stream, rather than as a message in it */
  streamFault?: 'garbage' | 'text' | 'foreign';
}

export const json = (value: unknown): Node => ({ json: value });
export const raw = (text: string): Node => ({ raw: text });
export const fields = (...entries: Field[]): Node => ({ fields: entries });
export const seq = (delta: number): Node => ({ seq: delta });

export function nodeText(node: Node, ledgerSeq: number): string {
  if ('json' in node) return JSON.stringify(node.json) ?? 'null';
  if ('raw' in node) return node.raw;
  if ('seq' in node) return String(ledgerSeq + node.seq);
  return `{${node.fields.map(([key, value]) => `${JSON.stringify(key)}:${nodeText(value, ledgerSeq)}`).join(',')}}`;
}

/** Replaces (or, with `undefined`, removes) the field at `path`, creating parents as needed. */
export function setPath(node: Node, path: readonly string[], value: Node | undefined): Node {
  const [head, ...rest] = path;
  if (head === undefined) return value ?? json(null);
  const entries = 'fields' in node ? node.fields : [];
  const current = entries.find(([key]) => key === head)?.[1];
  const next = rest.length === 0 ? value : setPath(current ?? fields(), rest, value);
  const kept = entries.filter(([key]) => key !== head);
  return { fields: next === undefined ? kept : [...kept, [head, next]] };
}

/** `[[[…]]]` nested `depth` deep: JSON.parse reads it, JSON.stringify and String() overflow on it. */
export const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
export const deepObject = (depth: number) => '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);

const syncFlushSuffix = [0x00, 0x00, 0xff, 0xff];

export function render(body: Body, ledgerSeq: number, maxPayload: number, compression?: StreamCompression): Rendered {
  switch (body.as) {
    case 'stream':
      return renderStreamFault(body, compression ?? 'zlib-stream');
    case 'node':
      return { data: nodeText(body.node, ledgerSeq), binary: false };
    case 'text':
      return { data: body.text, binary: false };
    case 'bytes':
      return { data: Buffer.from(body.bytes), binary: body.binary };
    case 'oversize': {
      const head = `{"op":0,"t":"HUGE","s":${ledgerSeq + 1},"d":"`;
      return { data: head + 'x'.repeat(maxPayload + body.excess - head.length - 2) + '"}', binary: false };
    }
  }
}

function renderStreamFault(body: Extract<Body, { as: 'stream' }>, compression: StreamCompression): Rendered {
  // A zlib-stream client waits for the suffix before it inflates anything: give it one.
  const suffix = compression === 'zlib-stream' ? syncFlushSuffix : [];
  switch (body.fault) {
    case 'garbage':
      // 0x06 opens a block of the reserved type 3, in deflate and in zstd alike.
      return { data: Buffer.from([0x06, ...body.bytes, ...suffix]), binary: true, streamFault: 'garbage' };
    case 'text':
      return { data: '{"op":11,"d":null}', binary: false, streamFault: 'text' };
    case 'foreign':
      return { data: createStreamCompressor(compression).compress('{"op":11,"d":null}'), binary: true, streamFault: 'foreign' };
  }
}

/** A frame for reports: long data is cut, bytes are shown as hex. */
export function describeData(rendered: Rendered): string {
  const text = typeof rendered.data === 'string' ? rendered.data : `<${rendered.data.toString('hex')}>`;
  const kind = rendered.binary ? 'binary' : 'text';
  return `${kind} ${text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text}`;
}
