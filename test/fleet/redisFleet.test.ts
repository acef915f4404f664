import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosGateway } from '../../src/testing/index.ts';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';
import { ScriptProcess } from './support/child.ts';
import { closeFleets, guildOf, startFleetServer } from './support/fleetHarness.ts';

/**
 * A fleet spread over several real OS processes, coordinated through a real redis-server, against
 * one chaos gateway that enforces Discord's start rules.
 */

type Line = { shardId?: number; s?: number; ready?: true | 'identify' | 'resume'; sessionId?: string; stopped?: true; code?: string };
const isLine = (line: unknown): line is Line => typeof line === 'object' && line !== null;

let redis: RedisServer;
const running = new Set<ScriptProcess>();
let prefixCount = 0;

interface ProcessArgs {
  server: ChaosGateway;
  prefix: string;
  shardCount: number;
  shardIds: number[];
  windowMs: number;
  maxConcurrency: number;
}

function startProcess(args: ProcessArgs): ScriptProcess {
  const child = ScriptProcess.start('./redisFleetProcess.ts', [
    JSON.stringify({
      url: args.server.url,
      api: args.server.apiUrl,
      redis: redis.url,
      prefix: args.prefix,
      shardCount: args.shardCount,
      shardIds: args.shardIds,
      // The server measures IDENTIFYs as they arrive; the clients space their grants wider, as a
      // grant and its IDENTIFY's arrival drift apart by a few ms, more on a loaded machine.
      windowMs: Math.round(args.windowMs * 1.5) + 100,
      maxConcurrency: args.maxConcurrency,
    }),
  ]);
  running.add(child);
  return child;
}

const allReady = (line: unknown): line is Line => isLine(line) && line.ready === true;
const lines = (child: ScriptProcess) => child.lines as Line[];
const delivered = (child: ScriptProcess, shardId: number) =>
  lines(child)
    .filter((line) => line.shardId === shardId && line.s !== undefined)
    .map((line) => line.s!);
const handshakes = (child: ScriptProcess) =>
  lines(child)
    .filter((line) => typeof line.ready === 'string')
    .map((line) => line.ready);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function until(predicate: () => boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeWithRedis(
  'a fleet over several processes, coordinated through Redis',
  () => {
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });
    afterEach(async () => {
      await Promise.all([...running].map((child) => child.kill()));
      running.clear();
      await closeFleets();
      if (!redis.running) await redis.restart();
    });

    it('3 processes × 16 shards, max_concurrency 4, 300 ms windows, one budget of 1000: 48 READY, no rule broken', async () => {
      // Each process starts its own shards in order; across processes each bucket serves its oldest waiter first.
      const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 300, startInOrder: false });
      const prefix = `bot${prefixCount++}`;
      const children = [0, 1, 2].map((n) =>
        startProcess({ server, prefix, shardCount: 48, shardIds: range(n * 16, n * 16 + 16), windowMs: 300, maxConcurrency: 4 }),
      );
      await Promise.all(children.map((child) => child.until(allReady, 30_000)));
      expect(server.violations).toEqual([]);
      expect(server.identified.map((entry) => entry.shard).sort((a, b) => a! - b!)).toEqual(range(0, 48));
    }, 40_000);

    it('a budget of 30 shared by three processes: never more than 30 IDENTIFYs, the rest report the wait', async () => {
      const server = await startFleetServer({ maxConcurrency: 16, identifyWindowMs: 10, startInOrder: false, budget: { total: 30 } });
      const prefix = `bot${prefixCount++}`;
      const children = [0, 1, 2].map((n) =>
        startProcess({
          server,
          prefix,
          shardCount: 48,
          shardIds: range(n * 16, n * 16 + 16),
          windowMs: 40,
          maxConcurrency: 16,
        }),
      );
      await until(
        () => children.flatMap(lines).filter((line) => line.code === 'IDENTIFY_BUDGET_EXHAUSTED').length >= 18,
        'the 18 shards past the budget to report their wait',
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.counters.identifies).toBe(30);
      expect(server.violations).toEqual([]);
    }, 40_000);

    it('kill -9 one process while events stream; its replacement RESUMEs from Redis: no IDENTIFY, no event lost', async () => {
      const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 50, startInOrder: false });
      const prefix = `bot${prefixCount++}`;
      const args = { server, prefix, shardCount: 8, windowMs: 50, maxConcurrency: 4 };
      const stable = startProcess({ ...args, shardIds: [0, 1, 2, 3] });
      const doomed = startProcess({ ...args, shardIds: [4, 5, 6, 7] });
      await Promise.all([stable.until(allReady), doomed.until(allReady)]);
      let round = 1;
      let identifies: number | undefined;
      const stream = setInterval(() => {
        for (let shardId = 0; shardId < 8; shardId++) server.dispatch('MESSAGE_CREATE', { guild_id: guildOf(shardId, 8, round) });
        round++;
      }, 10);
      try {
        await until(() => delivered(doomed, 4).length >= 30, 'events on the doomed process');
        await doomed.kill('SIGKILL');
        identifies = server.counters.identifies;
        const replacement = startProcess({ ...args, shardIds: [4, 5, 6, 7] });
        await replacement.until(allReady, 20_000);
        await until(() => delivered(replacement, 4).length >= 20, 'events on the replacement');
      } finally {
        clearInterval(stream);
      }
      const replacement = [...running].at(-1)!;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(handshakes(replacement)).toEqual(['resume', 'resume', 'resume', 'resume']);
      expect(server.counters.identifies).toBe(identifies);
      expect(server.violations).toEqual([]);
      for (const shardId of [4, 5, 6, 7]) {
        const before = delivered(doomed, shardId);
        const after = delivered(replacement, shardId);
        // The replacement replays from the stored sequence: each event once, in order, none missing.
        expect(after).toEqual([...new Set(after)].sort((a, b) => a - b));
        expect(after[0]! - 1).toBeLessThanOrEqual(Math.max(...before));
        const sessionId = lines(replacement).find((line) => line.shardId === shardId && line.ready === 'resume')!.sessionId!;
        expect(new Set([...before, ...after]).size).toBe(server.sessionStats(sessionId)!.dispatched);
      }
    }, 40_000);

    it('Redis down for seconds: resumes go on without it, identifies wait and report, and finish when it is back', async () => {
      const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
      const prefix = `bot${prefixCount++}`;
      const child = startProcess({ server, prefix, shardCount: 4, shardIds: [0, 1, 2, 3], windowMs: 20, maxConcurrency: 2 });
      await child.until(allReady);
      await redis.stop();
      const downAt = Date.now();

      // Every socket dropped: RESUME needs no Redis.
      const mark = lines(child).length;
      server.kill();
      await until(
        () =>
          lines(child)
            .slice(mark)
            .filter((line) => line.ready === 'resume').length === 4,
        'four resumes with Redis down',
      );

      // Every session refused: IDENTIFY must wait for Redis, and says so.
      const identifies = server.counters.identifies;
      server.invalidateSession(false);
      await until(
        () =>
          lines(child)
            .slice(mark)
            .some((line) => line.code === 'COORDINATOR_UNAVAILABLE'),
        'the coordinator outage to be reported',
      );
      // Down for at least two seconds: the waits go on, reported and bounded, and nothing IDENTIFYs.
      await new Promise((resolve) => setTimeout(resolve, Math.max(500, 2_000 - (Date.now() - downAt))));
      expect(server.counters.identifies).toBe(identifies);
      expect(lines(child).some((line) => line.code === 'ACTOR_FAILED')).toBe(false);

      await redis.restart();
      await until(
        () =>
          lines(child)
            .slice(mark)
            .filter((line) => line.ready === 'identify').length === 4,
        'four identifies once Redis is back',
      );
      expect(server.violations).toEqual([]);
    }, 40_000);

    it('blue/green: the old process stops keeping its sessions, the new one takes its shards over with no IDENTIFY and no event lost', async () => {
      const server = await startFleetServer({ maxConcurrency: 2, identifyWindowMs: 20 });
      const prefix = `bot${prefixCount++}`;
      const args = { server, prefix, shardCount: 4, shardIds: [0, 1, 2, 3], windowMs: 20, maxConcurrency: 2 };
      const blue = startProcess(args);
      await blue.until(allReady);
      const dispatchAll = (round: number) => {
        for (let shardId = 0; shardId < 4; shardId++) server.dispatch('MESSAGE_CREATE', { guild_id: guildOf(shardId, 4, round) });
      };
      dispatchAll(1);
      await until(() => [0, 1, 2, 3].every((id) => delivered(blue, id).length === 1), 'blue to get the first round');
      blue.child.kill('SIGTERM');
      await blue.until((line): line is Line => isLine(line) && line.stopped === true);
      dispatchAll(2);
      const green = startProcess(args);
      await green.until(allReady);
      dispatchAll(3);
      await until(() => [0, 1, 2, 3].every((id) => delivered(green, id).length === 2), 'green to get the second and third rounds');
      expect(handshakes(green)).toEqual(['resume', 'resume', 'resume', 'resume']);
      expect(server.counters.identifies).toBe(4);
      for (const shardId of [0, 1, 2, 3]) {
        const all = [...delivered(blue, shardId), ...delivered(green, shardId)];
        expect(new Set(all).size).toBe(3);
      }
    }, 40_000);
  },
  describe,
  it,
);
