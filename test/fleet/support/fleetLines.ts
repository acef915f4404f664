import type { ShardManager } from '../../../src/fleet/createShardManager.ts';
import { isHandshakeAnswer } from '../../support/discordFrames.ts';

/** Short timings for fleets in child processes: a loaded machine still meets them. */
export const childFleetTiming = {
  sessionWriteIntervalMs: 200,
  timeouts: { connect: 1_000, hello: 2_000, ready: 2_000, drain: 80, terminateGrace: 40 },
  backoff: { baseMs: 10, maxMs: 40, invalidSessionMinMs: 20, invalidSessionMaxMs: 40 },
};

const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

/**
 * What a fleet in a child process tells its test, one JSON line each: every event delivered, every
 * shard ready (with its session id), every error with its code; `{ ready: true }` once all are.
 */
export async function reportFleet(fleet: ShardManager): Promise<void> {
  // READY and RESUMED are reported by the `ready` lines; these lines are the session's events.
  fleet.on('dispatch', (payload, shardId) => {
    if (!isHandshakeAnswer(payload)) print({ shardId, s: payload.s });
  });
  fleet.on('state', (change, shardId) => {
    if (change.state === 'ready') print({ shardId, ready: change.handshake, sessionId: fleet.session(shardId)?.sessionId });
  });
  fleet.on('error', (error, shardId) => print({ shardId, code: (error as { code?: string }).code ?? 'ERROR', error: error.message }));
  await fleet.start();
  print({ ready: true });
}

/** On SIGTERM: stop keeping the sessions, run `then`, say so and exit. */
export function stopOnSigterm(fleet: ShardManager, then: () => void): void {
  process.on('SIGTERM', () => {
    void fleet.stop({ keepSessions: true }).then(() => {
      then();
      print({ stopped: true });
      process.exit(0);
    });
  });
}
