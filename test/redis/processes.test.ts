import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptProcess } from '../fleet/support/child.ts';
import { describeWithRedis, RedisServer } from '../support/redisServer.ts';
import { paddedIdentifyWindowMs } from '../../src/core/identifyWindow.ts';

/**
 * Real OS processes contending for IDENTIFY grants through one real Redis: Discord's rules must hold
 * across all of them, and a process killed with SIGKILL must not block anyone for long.
 */

interface GrantLine {
  grant: { shardId: number; bucket: number; grantedAt: number; budgetLeft: number; pid: number };
}
const isGrant = (line: unknown): line is GrantLine => typeof line === 'object' && line !== null && 'grant' in line;

let server: RedisServer;
const children: ScriptProcess[] = [];
function contender(
  prefix: string,
  shardIds: number[],
  maxConcurrency: number,
  windowMs: number,
  budget: number,
  goKey = '',
): ScriptProcess {
  const child = ScriptProcess.start('../../redis/support/contender.ts', [
    server.url,
    prefix,
    shardIds.join(','),
    String(maxConcurrency),
    String(windowMs),
    String(budget),
    '600000',
    goKey,
  ]);
  children.push(child);
  return child;
}
const grantsOf = (processes: ScriptProcess[]) => processes.flatMap((p) => p.lines.filter(isGrant).map((line) => line.grant));

describeWithRedis(
  'redisIdentifyQueue across OS processes',
  () => {
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterAll(async () => {
      await Promise.all(children.splice(0).map((child) => child.kill('SIGKILL')));
      await server?.stop();
    });

    it(
      '3 processes × 16 shards, max_concurrency 4, window 300 ms, budget 30: paced per bucket, never above the budget',
      { timeout: 60_000 },
      async () => {
        const windowMs = 300;
        const processes = [0, 1, 2].map((index) =>
          contender(
            'fleet',
            Array.from({ length: 16 }, (_, i) => index * 16 + i),
            4,
            windowMs,
            30,
            'fleet:go',
          ),
        );
        await Promise.all(
          processes.map((p) => p.until((line): line is unknown => typeof line === 'object' && line !== null && 'started' in line)),
        );
        const redis = new Redis(server.url);
        await redis.set('fleet:go', '1');
        await redis.quit();
        const deadline = Date.now() + 30_000;
        while (grantsOf(processes).length < 30 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        // Past the 30th grant, one more window or two: nothing else may be granted.
        await new Promise((resolve) => setTimeout(resolve, 3 * windowMs));
        const grants = grantsOf(processes);
        expect(grants).toHaveLength(30);
        expect(new Set(grants.map((g) => g.shardId)).size).toBe(30);
        // They contended: grants went to more than one process (whoever asked first is served first,
        // so the last process to ask may be left with none of a budget this small).
        expect(new Set(grants.map((g) => g.pid)).size).toBeGreaterThanOrEqual(2);
        const byBucket = new Map<number, number[]>();
        for (const g of grants) byBucket.set(g.bucket, [...(byBucket.get(g.bucket) ?? []), g.grantedAt]);
        for (const [bucket, times] of byBucket) {
          times.sort((a, b) => a - b);
          for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `bucket ${bucket}`).toBeGreaterThanOrEqual(windowMs);
        }
        // Everyone left waiting was told the budget is spent.
        const notified = new Set(
          processes.flatMap((p) =>
            p.lines
              .filter((l) => (l as { notice?: string }).notice === 'IDENTIFY_BUDGET_EXHAUSTED')
              .map((l) => (l as { shardId: number }).shardId),
          ),
        );
        expect(notified.size).toBe(18);
        await Promise.all(processes.map((p) => p.kill('SIGKILL')));
      },
    );

    it('a lease holder killed with SIGKILL mid-window frees the bucket within one window', { timeout: 30_000 }, async () => {
      const windowMs = 1000;
      const holder = contender('lease', [0], 1, windowMs, 100);
      const { grant: held } = await holder.until(isGrant);
      await holder.kill('SIGKILL');
      // A second process, and a third one's waiter that dies in line, ask for the same bucket.
      const deadInLine = contender('lease', [1], 1, windowMs, 100);
      await deadInLine.until((line): line is unknown => typeof line === 'object' && line !== null && 'started' in line);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const next = contender('lease', [2], 1, windowMs, 100);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await deadInLine.kill('SIGKILL');
      const { grant } = await next.until(isGrant, 15_000);
      // The dead holder's lease ran out one window after its grant; the dead waiter ahead of the
      // live one was dropped once it stopped asking (2 windows + a call timeout at most).
      expect(grant.grantedAt - held.grantedAt).toBeGreaterThanOrEqual(windowMs);
      const leaseMs = paddedIdentifyWindowMs(windowMs);
      expect(grant.grantedAt - held.grantedAt).toBeLessThan(leaseMs + 2 * leaseMs + 2000 + 500);
      await next.kill('SIGKILL');
    });

    it(
      'a lease holder killed with SIGKILL frees the bucket for the next in line one window after its grant',
      { timeout: 30_000 },
      async () => {
        const windowMs = 1000;
        const holder = contender('lease2', [0], 1, windowMs, 100);
        const { grant: held } = await holder.until(isGrant);
        const next = contender('lease2', [1], 1, windowMs, 100);
        const { asking } = await next.until(
          (line): line is { asking: number } => typeof line === 'object' && line !== null && 'asking' in line,
        );
        await holder.kill('SIGKILL');
        const { grant } = await next.until(isGrant, 15_000);
        expect(grant.grantedAt - held.grantedAt).toBeGreaterThanOrEqual(windowMs);
        // Granted as soon as the dead holder's lease ran out (or at once, if it had already when the
        // new process, slow to start, first asked).
        expect(grant.grantedAt).toBeLessThan(Math.max(held.grantedAt + paddedIdentifyWindowMs(windowMs), asking) + 200);
        await next.kill('SIGKILL');
      },
    );
  },
  describe,
  it,
);
