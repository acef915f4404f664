import { fileSessionStore } from '../../../src/fleet/fileSessionStore.ts';

/**
 * Writes sessions to a file store as fast as it can, several shards at once, and prints each
 * sequence once its set resolved (it is on disk), until it is killed.
 */
const [path, shards = '4'] = process.argv.slice(2);
const store = fileSessionStore(path!);
const shardCount = Number(shards);
let sequence = 0;
for (;;) {
  sequence += 1;
  const round = sequence;
  await Promise.all(
    Array.from({ length: shardCount }, (_, shardId) =>
      store.set(shardId, { sessionId: `session-${shardId}`, sequence: round, resumeUrl: 'wss://resume.example', shardCount }),
    ),
  );
  process.stdout.write(`${JSON.stringify({ durable: round })}\n`);
}
