import { fileSessionStore } from '../../../src/fleet/fileSessionStore.ts';

/**
 * Writes sessions to a file store as fast as it can, several shards at once, and prints each
 * sequence once its set resolved (it is on disk), until it is killed. Arguments: the file, the
 * number of shards, and the first shard id (default 0), so several writers can share one file.
 */
const [path, shards = '4', first = '0'] = process.argv.slice(2);
const store = fileSessionStore(path!);
const shardCount = Number(shards);
const firstShard = Number(first);
let sequence = 0;
for (;;) {
  sequence += 1;
  const round = sequence;
  await Promise.all(
    Array.from({ length: shardCount }, (_, index) =>
      store.set(firstShard + index, {
        sessionId: `session-${firstShard + index}`,
        sequence: round,
        resumeUrl: 'wss://resume.example',
        shardCount: firstShard + shardCount,
      }),
    ),
  );
  process.stdout.write(`${JSON.stringify({ durable: round })}\n`);
}
