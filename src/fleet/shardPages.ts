/**
 * Every shard's entry of a fleet's statechart context, kept in pages of consecutive shard ids.
 * Context is immutable, so a change makes a new object; with one flat record per fleet, each
 * shard event would copy every shard's entry (quadratic over a start of 10,000 shards). Here a
 * change copies one page and the index of pages: about 2·√n entries. Plain data, as every
 * context.
 */
export interface ShardPages<T> {
  /** shard ids per page: shard `id` is in page `Math.floor(id / pageSize)` */
  pageSize: number;
  pages: Record<string, Record<string, T>>;
}

/** A page size that balances the two copies a change makes: the page and the index. */
export function pageSizeFor(shardCount: number): number {
  return Math.max(16, Math.ceil(Math.sqrt(shardCount)));
}

export function buildShardPages<T>(entries: Iterable<readonly [number, T]>, pageSize: number): ShardPages<T> {
  const pages: Record<string, Record<string, T>> = {};
  for (const [id, value] of entries) (pages[Math.floor(id / pageSize)] ??= {})[id] = value;
  return { pageSize, pages };
}

export function shardEntry<T>(table: ShardPages<T>, id: number): T | undefined {
  return table.pages[Math.floor(id / table.pageSize)]?.[id];
}

/** Every entry in one record, by shard id: for callers, never on a per-event path. */
export function allShardEntries<T>(table: ShardPages<T>): Record<string, T> {
  const all: Record<string, T> = {};
  for (const page of Object.values(table.pages)) Object.assign(all, page);
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
  let pages: Record<string, Record<string, T>> | null = null;
  const copied = new Set<number>();
  return {
    get: (id) => (pages ?? table.pages)[Math.floor(id / table.pageSize)]?.[id],
    set(id, value) {
      const index = Math.floor(id / table.pageSize);
      pages ??= { ...table.pages };
      if (!copied.has(index)) {
        pages[index] = { ...pages[index] };
        copied.add(index);
      }
      pages[index]![id] = value;
    },
    done: () => (pages ? { pageSize: table.pageSize, pages } : table),
  };
}
