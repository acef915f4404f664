import { checkShardId, checkStoredSession } from './storedSession.ts';
import type { SessionStore, StoredSession } from './types.ts';

/** Sessions in this process only: they survive reconnects and a manager restart, not the process. */
export function memorySessionStore(): SessionStore {
  const sessions = new Map<number, StoredSession>();
  return {
    async get(shardId) {
      checkShardId(shardId, 'memorySessionStore.get');
      const session = sessions.get(shardId);
      return session ? { ...session } : null;
    },
    async set(shardId, session) {
      checkShardId(shardId, 'memorySessionStore.set');
      checkStoredSession(session, 'memorySessionStore.set');
      if (session === null) sessions.delete(shardId);
      else sessions.set(shardId, { ...session });
    },
  };
}
