/**
 * What the fuzzer sends, as printable data. A frame is a tree of fields whose leaves are JSON
 * values, raw JSON text (for what JSON.stringify cannot write: 1e999, nesting 10,000 deep) or a
 * sequence number relative to the client's ledger at send time (backwards, duplicate, jump).
 */

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
  | { as: 'oversize'; excess: number };

export interface FuzzCase {
  /** what was generated, for reports: e.g. `HELLO d.heartbeat_interval := "NaN"` */
  label: string;
  phase: Phase;
  body: Body;
}

export interface Rendered {
  data: string | Buffer;
  binary: boolean;
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

export function render(body: Body, ledgerSeq: number, maxPayload: number): Rendered {
  switch (body.as) {
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

/** A frame for reports: long data is cut, bytes are shown as hex. */
export function describeData(rendered: Rendered): string {
  const text = typeof rendered.data === 'string' ? rendered.data : `<${rendered.data.toString('hex')}>`;
  const kind = rendered.binary ? 'binary' : 'text';
  return `${kind} ${text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text}`;
}
