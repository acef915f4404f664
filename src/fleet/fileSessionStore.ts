import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { checkShardId, checkStoredSession, parseStoredSession } from './storedSession.ts';
import type { SessionStore, StoredSession } from './types.ts';

const fileVersion = 1;
/** A lock held this long is taken over even when its owner cannot be seen to be gone (another host). */
const staleLockMs = 10_000;

/**
 * Every shard's session in one JSON file, so a restarted process resumes instead of identifying
 * again. Each write goes to a temporary file that is synced and renamed over the old one, so the
 * file is always a whole old or a whole new version, even after `kill -9`.
 *
 * Several stores may share one file, in one process or in several (e.g. processes that each run a
 * share of the shards): each write takes a lock file beside it (`<path>.lock`), reads the file,
 * applies this store's own changes and renames the new version in, so no store drops the sessions
 * another one wrote. A lock left by a process that died is taken over at once on the same host, and
 * after 10 s otherwise. Reads take no lock. Two stores that set the same shard: the last write wins.
 *
 * Writes are serialised and coalesced: sets made while a write is in flight go out together in the
 * next one, and a set resolves once a write that contains it is on disk.
 */
export function fileSessionStore(path: string): SessionStore {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('fileSessionStore: path must be a non-empty string');
  const lockPath = `${path}.lock`;
  // Unique per store: a temporary file is only ever written by the store that renames it.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  /** this store's sets that are not yet known to be on disk; null forgets the shard */
  const unwritten = new Map<number, StoredSession | null>();
  /** bumped by every set; `written` is the last change known to be on disk */
  let changes = 0;
  let written = 0;
  let writing: Promise<void> | null = null;
  let reading: Promise<Map<number, StoredSession>> | null = null;

  // Concurrent gets (every shard at start) share one read of the file.
  const readShared = () =>
    (reading ??= readSessions(path).finally(() => {
      reading = null;
    }));

  async function writeOnce(): Promise<void> {
    const upTo = changes;
    const batch = new Map(unwritten);
    await withFileLock(lockPath, async () => {
      // Read under the lock: what other stores wrote since stays in the file.
      const all = await readSessions(path);
      for (const [shardId, session] of batch) {
        if (session === null) all.delete(shardId);
        else all.set(shardId, session);
      }
      const body = JSON.stringify({ version: fileVersion, sessions: Object.fromEntries(all) });
      const file = await open(temporary, 'w');
      try {
        await file.writeFile(body);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
    });
    // A shard set again meanwhile keeps its newer value for the next write.
    for (const [shardId, session] of batch) if (unwritten.get(shardId) === session) unwritten.delete(shardId);
    written = Math.max(written, upTo);
  }

  async function persist(change: number): Promise<void> {
    while (written < change) {
      writing ??= writeOnce().finally(() => {
        writing = null;
      });
      await writing;
    }
  }

  return {
    async get(shardId) {
      checkShardId(shardId, 'fileSessionStore.get');
      const session = unwritten.has(shardId) ? unwritten.get(shardId) : (await readShared()).get(shardId);
      return session ? { ...session } : null;
    },
    async set(shardId, session) {
      checkShardId(shardId, 'fileSessionStore.set');
      checkStoredSession(session, 'fileSessionStore.set');
      // A fresh object per set, so a write can tell whether a shard was set again while it ran.
      unwritten.set(shardId, session && { ...session });
      changes += 1;
      await persist(changes);
    },
  };
}

async function readSessions(path: string): Promise<Map<number, StoredSession>> {
  const sessions = new Map<number, StoredSession>();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return sessions;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // A file that is not JSON holds no session we could trust; the next write replaces it.
    return sessions;
  }
  const stored = (parsed as { sessions?: unknown } | null)?.sessions;
  if (typeof stored !== 'object' || stored === null) return sessions;
  for (const [key, value] of Object.entries(stored)) {
    const shardId = Number(key);
    const session = parseStoredSession(value);
    if (Number.isSafeInteger(shardId) && shardId >= 0 && session) sessions.set(shardId, session);
  }
  return sessions;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

/** Tokens of the locks this process holds now, to tell them from a lock left by an earlier process with the same pid (a restarted container). */
const heldHere = new Set<string>();

/** Runs `work` holding an exclusive lock file, shared with every process that can see the path. */
async function withFileLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') };
  await acquireLock(lockPath, owner);
  try {
    return await work();
  } finally {
    await releaseLock(lockPath, owner);
  }
}

async function acquireLock(lockPath: string, owner: LockOwner): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await open(lockPath, 'wx');
      heldHere.add(owner.token);
      try {
        await file.writeFile(JSON.stringify(owner));
      } finally {
        await file.close();
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await removeIfStale(lockPath)) continue;
    // A write holds the lock for milliseconds: poll briefly, backing off a little.
    await new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt * 2, 25)));
  }
}

async function releaseLock(lockPath: string, owner: LockOwner): Promise<void> {
  heldHere.delete(owner.token);
  try {
    // Only our own: a lock taken over from us as stale now belongs to someone else.
    if (readOwner(await readFile(lockPath, 'utf8'))?.token === owner.token) await unlink(lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Removes a lock whose owner is gone (or that is older than any write takes); true when the lock is gone. */
async function removeIfStale(lockPath: string): Promise<boolean> {
  let seen: Awaited<ReturnType<typeof stat>>;
  let text: string;
  try {
    seen = await stat(lockPath);
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  const owner = readOwner(text);
  const ownerGone =
    owner !== null && owner.host === hostname() && (owner.pid === process.pid ? !heldHere.has(owner.token) : !processAlive(owner.pid));
  if (!ownerGone && Date.now() - seen.mtimeMs < staleLockMs) return false;
  try {
    // Only the lock that was judged: one taken meanwhile by another process is a new file.
    const now = await stat(lockPath);
    if (now.ino !== seen.ino || now.mtimeMs !== seen.mtimeMs) return false;
    await unlink(lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return true;
}

function readOwner(text: string): LockOwner | null {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner> | null;
    if (typeof owner?.pid === 'number' && typeof owner.host === 'string' && typeof owner.token === 'string') return owner as LockOwner;
  } catch {
    // Empty or partial: its owner is still writing it, or died doing so; its age decides.
  }
  return null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
