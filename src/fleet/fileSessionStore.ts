import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { checkShardId, checkStoredSession, parseStoredSession } from './storedSession.ts';
import type { SessionStore, StoredSession } from './types.ts';

const fileVersion = 1;

/**
 * Every shard's session in one JSON file, so a restarted process resumes instead of identifying
 * again. Each write goes to a temporary file that is synced and renamed over the old one, so the
 * file is always a whole old or a whole new version, even after `kill -9`. Writes are serialised
 * and coalesced: sets made while a write is in flight go out together in the next one, and a set
 * resolves once a write that contains it is on disk. One process owns a file.
 */
export function fileSessionStore(path: string): SessionStore {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('fileSessionStore: path must be a non-empty string');
  // Unique per store, so two stores on one path in one process never share a temporary file.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let sessions: Promise<Map<number, StoredSession>> | undefined;
  /** bumped by every set; `written` is the last change known to be on disk */
  let changes = 0;
  let written = 0;
  let writing: Promise<void> | null = null;

  const load = () =>
    (sessions ??= readSessions(path).catch((error: unknown) => {
      // An unreadable file (permissions, I/O) is tried again on the next call, not cached as failed.
      sessions = undefined;
      throw error;
    }));

  async function writeOnce(all: Map<number, StoredSession>): Promise<void> {
    const upTo = changes;
    const body = JSON.stringify({ version: fileVersion, sessions: Object.fromEntries(all) });
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(body);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    written = Math.max(written, upTo);
  }

  async function persist(change: number, all: Map<number, StoredSession>): Promise<void> {
    while (written < change) {
      writing ??= writeOnce(all).finally(() => {
        writing = null;
      });
      await writing;
    }
  }

  return {
    async get(shardId) {
      checkShardId(shardId, 'fileSessionStore.get');
      const session = (await load()).get(shardId);
      return session ? { ...session } : null;
    },
    async set(shardId, session) {
      checkShardId(shardId, 'fileSessionStore.set');
      checkStoredSession(session, 'fileSessionStore.set');
      const all = await load();
      if (session === null) all.delete(shardId);
      else all.set(shardId, { ...session });
      changes += 1;
      await persist(changes, all);
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
