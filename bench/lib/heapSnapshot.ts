import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientProcess } from './processes.ts';

/**
 * A V8 heap snapshot (.heapsnapshot, as `v8.writeHeapSnapshot` writes it) summed by what each
 * node is: its constructor for objects, its function name for closures, its kind for the rest
 * (strings, arrays, compiled code, V8's own structures such as contexts and maps).
 */

export interface HeapGroup {
  /** e.g. `Object`, `Array`, `closure onDispatch`, `(system) Context`, `(string)` */
  key: string;
  count: number;
  bytes: number;
}

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function keyOf(type: string, name: string): string {
  switch (type) {
    case 'object':
      // V8 names its own structures "system / X"
      return name.startsWith('system / ') ? `(system) ${name.slice(9)}` : name;
    case 'closure':
      return `closure ${name || '(anonymous)'}`;
    case 'native':
      return `(native) ${name}`;
    case 'hidden':
    case 'array':
    case 'code':
    case 'object shape':
      return `(${type}) ${name.replace(/\d+/g, 'N').slice(0, 40)}`;
    default:
      return `(${type})`;
  }
}

export function summariseHeapSnapshot(path: string): Map<string, HeapGroup> {
  const json = JSON.parse(readFileSync(path, 'utf8')) as SnapshotJson;
  const fields = json.snapshot.meta.node_fields;
  const types = json.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < json.nodes.length; i += width) {
    const key = keyOf(types[json.nodes[i + typeAt]!]!, json.strings[json.nodes[i + nameAt]!]!);
    const group = groups.get(key) ?? { key, count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += json.nodes[i + sizeAt]!;
    groups.set(key, group);
  }
  return groups;
}

/** What `after` holds beyond `before`, per unit (e.g. per shard), largest first. */
export function heapGrowth(before: Map<string, HeapGroup>, after: Map<string, HeapGroup>, units: number): HeapGroup[] {
  const grown: HeapGroup[] = [];
  for (const [key, group] of after) {
    const base = before.get(key) ?? { key, count: 0, bytes: 0 };
    grown.push({ key, count: (group.count - base.count) / units, bytes: (group.bytes - base.bytes) / units });
  }
  return grown.sort((a, b) => b.bytes - a.bytes);
}

/**
 * Closes what a client process has open, between two heap snapshots (after full GCs): where its
 * heap went, per unit (connection, shard), by constructor. Taken after any memory reading, since
 * writing a snapshot grows RSS.
 */
export async function closeWithHeapGrowth(client: ClientProcess, units: number): Promise<HeapGroup[]> {
  const [open, closed] = ['open', 'closed'].map((when) => join(tmpdir(), `lifeline-bench-heap-${process.pid}-${when}.heapsnapshot`)) as [
    string,
    string,
  ];
  try {
    await client.call('heapSnapshot', { path: open });
    await client.call('close');
    await client.call('heapSnapshot', { path: closed });
    return heapGrowth(summariseHeapSnapshot(closed), summariseHeapSnapshot(open), units);
  } finally {
    for (const path of [open, closed]) rmSync(path, { force: true });
  }
}
