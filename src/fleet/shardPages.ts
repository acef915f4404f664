/**
 * Every shard's entry of a fleet's statechart context, kept in pages of consecutive shard ids.
 * Context is immutable, so a change makes a new object; with one flat record per fleet, each
 * shard event would copy every shard's entry (quadratic over a start of 10,000 shards). Here a
 * change copies one page and the list of pages: about 2·√n slots. Pages are dense arrays (null
 * where the fleet has no such shard), which V8 copies fast; records keyed by shard id would be
 * sparse above the first page, and slow to copy. Plain data, as every context.
 */
export interface ShardPages<T> {
  /** shard ids per page: shard `id` is slot `id % pageSize` of page `Math.floor(id / pageSize)` */
  pageSize: number;
  pages: ((T | null)[] | null)[];
}

/** A page size that balances the two copies a change makes: the page and the list of pages. */
export function pageSizeFor(shardCount: number): number {
  return Math.max(16, Math.ceil(Math.sqrt(shardCount)));
}

export function buildShardPages<T>(entries: Iterable<readonly [number, T]>, pageSize: number): ShardPages<T> {
  const pages: ((T | null)[] | null)[] = [];
  for (const [id, value] of entries) {
    const index = Math.floor(id / pageSize);
    while (pages.length <= index) pages.push(null);
    (pages[index] ??= new Array<T | null>(pageSize).fill(null))[id % pageSize] = value;
  }
  return { pageSize, pages };
}

export function shardEntry<T>(table: ShardPages<T>, id: number): T | undefined {
  return table.pages[Math.floor(id / table.pageSize)]?.[id % table.pageSize] ?? undefined;
}

/** Every entry in one record, by shard id: for callers, never on a per-event path. */
export function allShardEntries<T>(table: ShardPages<T>): Record<string, T> {
  const all: Record<string, T> = {};
  table.pages.forEach((page, index) =>
    page?.forEach((value, slot) => {
      if (value !== null) all[index * table.pageSize + slot] = value;
    }),
  );
  return all;
}

export interface ShardPagesDraft<T> {
  get(id: number): T | undefined;
  /** only for a shard the table has */
  set(id: number, value: T): void;
  /** the new table (the same object when nothing changed) */
  done(): ShardPages<T>;
}

/** Changes to several shards at once, copying each touched page once. */
export function draftShardPages<T>(table: ShardPages<T>): ShardPagesDraft<T> {
  let pages: ((T | null)[] | null)[] | null = null;
  const copied = new Set<number>();
  const { pageSize } = table;
  return {
    get: (id) => (pages ?? table.pages)[Math.floor(id / pageSize)]?.[id % pageSize] ?? undefined,
    set(id, value) {
      const index = Math.floor(id / pageSize);
      pages ??= table.pages.slice();
      if (!copied.has(index)) {
        pages[index] = pages[index]?.slice() ?? new Array<T | null>(pageSize).fill(null);
        copied.add(index);
      }
      pages[index]![id % pageSize] = value;
    },
    done: () => (pages ? { pageSize, pages } : table),
  };
}
