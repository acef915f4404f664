import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSessionStore } from '../../src/fleet/fileSessionStore.ts';
import { memorySessionStore } from '../../src/fleet/memorySessionStore.ts';
import type { SessionStore, StoredSession } from '../../src/fleet/types.ts';
import { ScriptProcess } from './support/child.ts';

const session = (sequence: number, shardCount = 4): StoredSession => ({
  sessionId: 'abc',
  sequence,
  resumeUrl: 'wss://resume.example/?v=10',
  shardCount,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeline-sessions-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let fileCount = 0;
const freshPath = () => join(dir, `sessions-${++fileCount}.json`);

const kinds: [string, () => SessionStore][] = [
  ['memorySessionStore', () => memorySessionStore()],
  ['fileSessionStore', () => fileSessionStore(freshPath())],
];

describe.each(kinds)('%s', (_name, make) => {
  it('round-trips a session per shard, and null forgets it', async () => {
    const store = make();
    expect(await store.get(0)).toBeNull();
    await store.set(0, session(5));
    await store.set(3, { ...session(9), resumeUrl: null });
    expect(await store.get(0)).toEqual(session(5));
    expect(await store.get(3)).toEqual({ ...session(9), resumeUrl: null });
    await store.set(0, null);
    expect(await store.get(0)).toBeNull();
    expect(await store.get(3)).not.toBeNull();
  });

  it('hands out copies: changing a returned or stored object changes nothing stored', async () => {
    const store = make();
    const mine = session(1);
    await store.set(1, mine);
    mine.sequence = 99;
    const read = (await store.get(1))!;
    read.sequence = 77;
    expect((await store.get(1))!.sequence).toBe(1);
  });

  it('refuses a bad shard id or session with a TypeError naming the problem', async () => {
    const store = make();
    await expect(store.get(-1)).rejects.toThrow(TypeError);
    await expect(store.set(1.5, session(1))).rejects.toThrow(/shardId/);
    await expect(store.set(0, { ...session(1), sessionId: '' })).rejects.toThrow(/sessionId/);
    await expect(store.set(0, { ...session(1), sequence: -1 })).rejects.toThrow(TypeError);
    await expect(store.set(0, { ...session(1), shardCount: 0 })).rejects.toThrow(TypeError);
    expect(await store.get(0)).toBeNull();
  });

  it('keeps the newest value when many sets race', async () => {
    const store = make();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(2, session(i + 1))));
    expect((await store.get(2))!.sequence).toBe(50);
  });
});

describe('fileSessionStore on disk', () => {
  it('survives a restart: a new store on the same file reads what the old one wrote', async () => {
    const path = freshPath();
    const first = fileSessionStore(path);
    await Promise.all([0, 1, 2, 3].map((shardId) => first.set(shardId, session(shardId * 10))));
    const second = fileSessionStore(path);
    for (const shardId of [0, 1, 2, 3]) expect(await second.get(shardId)).toEqual(session(shardId * 10));
  });

  it('has a set on disk when it resolves, and concurrent sets of many shards all land', async () => {
    const path = freshPath();
    const store = fileSessionStore(path);
    await Promise.all(Array.from({ length: 40 }, (_, shardId) => store.set(shardId, session(shardId + 100, 40))));
    const onDisk = JSON.parse(await readFile(path, 'utf8')) as { sessions: Record<string, StoredSession> };
    expect(Object.keys(onDisk.sessions)).toHaveLength(40);
    for (let shardId = 0; shardId < 40; shardId++) expect(onDisk.sessions[shardId]!.sequence).toBe(shardId + 100);
    await store.set(7, session(5, 40));
    const again = JSON.parse(await readFile(path, 'utf8')) as { sessions: Record<string, StoredSession> };
    expect(again.sessions[7]!.sequence).toBe(5);
  });

  it('reads a corrupt file as no sessions, and a corrupt entry as null beside good ones', async () => {
    const broken = freshPath();
    await writeFile(broken, '{"version":1,"sessions":{"0":{"sessionId":"a","seq');
    const store = fileSessionStore(broken);
    expect(await store.get(0)).toBeNull();
    await store.set(1, session(3));
    expect(await fileSessionStore(broken).get(1)).toEqual(session(3));

    const mixed = freshPath();
    await writeFile(
      mixed,
      JSON.stringify({
        version: 1,
        sessions: {
          0: session(4),
          1: { ...session(4), sequence: 'x' },
          2: { sessionId: 'only' },
          3: null,
          x: session(4),
          4: { ...session(4), resumeUrl: 7 },
        },
      }),
    );
    const mixedStore = fileSessionStore(mixed);
    expect(await mixedStore.get(0)).toEqual(session(4));
    for (const shardId of [1, 2, 3, 4]) expect(await mixedStore.get(shardId)).toBeNull();
  });

  it("two stores on one path in one process keep each other's sessions, however their writes interleave", async () => {
    const path = freshPath();
    const left = fileSessionStore(path);
    const right = fileSessionStore(path);
    for (let round = 1; round <= 10; round++) {
      await Promise.all([
        ...[0, 1, 2, 3].map((shardId) => left.set(shardId, session(round * 100 + shardId, 8))),
        ...[4, 5, 6, 7].map((shardId) => right.set(shardId, session(round * 100 + shardId, 8))),
      ]);
    }
    await left.set(2, null);
    const reader = fileSessionStore(path);
    for (let shardId = 0; shardId < 8; shardId++) {
      expect((await reader.get(shardId))?.sequence, `shard ${shardId}`).toBe(shardId === 2 ? undefined : 1000 + shardId);
    }
    // Each store reads what the other wrote, too.
    expect((await left.get(5))?.sequence).toBe(1005);
    expect((await right.get(1))?.sequence).toBe(1001);
  });

  it(
    'several processes writing their own shards to one file, killed with SIGKILL: every shard holds its durable writes',
    { timeout: 60_000 },
    async () => {
      const path = freshPath();
      const writers = [0, 4].map((first) => ScriptProcess.start('./fileStoreWriter.ts', [path, '4', String(first)]));
      const here = fileSessionStore(path);
      let hereDurable = 0;
      try {
        for (let round = 1; round <= 30; round++) {
          await Promise.all([8, 9].map((shardId) => here.set(shardId, session(round, 10))));
          hereDurable = round;
        }
        for (const writer of writers) {
          await writer.until((line): line is { durable: number } => (line as { durable?: number }).durable === 30);
        }
      } finally {
        await Promise.all(writers.map((writer) => writer.kill('SIGKILL')));
      }
      JSON.parse(await readFile(path, 'utf8'));
      const reader = fileSessionStore(path);
      for (const [index, writer] of writers.entries()) {
        const durable = Math.max(...writer.lines.map((line) => (line as { durable: number }).durable));
        for (let shardId = index * 4; shardId < index * 4 + 4; shardId++) {
          expect((await reader.get(shardId))?.sequence ?? 0, `shard ${shardId}`).toBeGreaterThanOrEqual(durable);
        }
      }
      for (const shardId of [8, 9]) expect((await reader.get(shardId))?.sequence).toBe(hereDurable);
      // A writer killed while it held the lock does not hold the next one.
      await here.set(8, session(31, 10));
      expect((await reader.get(8))?.sequence).toBe(31);
    },
  );

  it('takes over at once a lock left by a process of this host that is gone', async () => {
    const path = freshPath();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(`${path}.lock`, JSON.stringify({ pid: gone, host: hostname(), token: 'left-behind' }));
    const store = fileSessionStore(path);
    // Well before the age at which any lock counts as stale: the owner is seen to be gone.
    const outcome = await Promise.race([
      store.set(0, session(1)).then(() => 'stored'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting for the lock'), 3_000)),
    ]);
    expect(outcome).toBe('stored');
    expect(await fileSessionStore(path).get(0)).toEqual(session(1));
  });

  it('refuses an empty path with a TypeError', () => {
    expect(() => fileSessionStore('')).toThrow(/path/);
  });

  it('holds every durable write and a whole file after the writing process is killed with SIGKILL', { timeout: 60_000 }, async () => {
    const path = freshPath();
    for (let round = 0; round < 3; round++) {
      const writer = ScriptProcess.start('./fileStoreWriter.ts', [path, '8']);
      try {
        // Kill at a different point each round, while writes are in flight.
        const target = 5 + round * 17;
        await writer.until((line): line is { durable: number } => (line as { durable?: number }).durable === target);
        await new Promise((resolve) => setTimeout(resolve, round * 3));
      } finally {
        await writer.kill('SIGKILL');
      }
      const durable = Math.max(...writer.lines.map((line) => (line as { durable: number }).durable));
      JSON.parse(await readFile(path, 'utf8'));
      const store = fileSessionStore(path);
      for (let shardId = 0; shardId < 8; shardId++) {
        const stored = await store.get(shardId);
        expect(stored, `shard ${shardId} after kill ${round}`).not.toBeNull();
        expect(stored!.sequence).toBeGreaterThanOrEqual(durable);
      }
    }
  });
});
