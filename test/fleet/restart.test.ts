import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptProcess } from './support/child.ts';
import { closeFleets, guildOf, startFleetServer } from './support/fleetHarness.ts';

type Line = { shardId?: number; s?: number; ready?: true | 'identify' | 'resume'; sessionId?: string; stopped?: true; error?: string };
const isLine = (line: unknown): line is Line => typeof line === 'object' && line !== null;

const running = new Set<ScriptProcess>();
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all([...running].map((child) => child.kill()));
  running.clear();
  await closeFleets();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function startFleetProcess(url: string, path: string, shards: number): ScriptProcess {
  const child = ScriptProcess.start('./fleetProcess.ts', [url, path, String(shards)]);
  running.add(child);
  return child;
}

const delivered = (child: ScriptProcess) =>
  (child.lines as Line[]).filter((line) => line.s !== undefined).map((line) => `${line.shardId}:${line.s}`);
const handshakes = (child: ScriptProcess) =>
  (child.lines as Line[]).filter((line) => typeof line.ready === 'string').map((line) => line.ready);

describe('a fleet that restarts on a fileSessionStore, in real processes', () => {
  const shards = 4;

  async function dispatchToEveryShard(server: Awaited<ReturnType<typeof startFleetServer>>, round: number) {
    for (let shardId = 0; shardId < shards; shardId++) server.dispatch('MESSAGE_CREATE', { guild_id: guildOf(shardId, shards, round) });
  }

  it('stop({ keepSessions }) on SIGTERM, then a new process: every shard RESUMEs, no IDENTIFY, every event once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-restart-'));
    dirs.push(dir);
    const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 20 });
    const first = startFleetProcess(server.url, join(dir, 'sessions.json'), shards);
    await first.until((line): line is Line => isLine(line) && line.ready === true);
    await dispatchToEveryShard(server, 1);
    await first.until((line): line is Line => delivered(first).length === shards && isLine(line));
    first.child.kill('SIGTERM');
    await first.until((line): line is Line => isLine(line) && line.stopped === true);
    await first.exited;
    // Sent while no process runs the fleet: the sessions keep them.
    await dispatchToEveryShard(server, 2);

    const identifies = server.counters.identifies;
    const second = startFleetProcess(server.url, join(dir, 'sessions.json'), shards);
    await second.until((line): line is Line => isLine(line) && line.ready === true);
    await second.until((line): line is Line => delivered(second).length === shards && isLine(line));
    expect(server.counters.identifies).toBe(identifies);
    expect(handshakes(second)).toEqual(Array(shards).fill('resume'));
    const all = [...delivered(first), ...delivered(second)];
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(2 * shards);
  }, 30_000);

  it('kill -9 while events stream, then a new process: every shard RESUMEs, nothing lost, nothing repeated past the stored sequence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-kill-'));
    dirs.push(dir);
    const server = await startFleetServer({ maxConcurrency: 4, identifyWindowMs: 20 });
    const path = join(dir, 'sessions.json');
    const first = startFleetProcess(server.url, path, shards);
    await first.until((line): line is Line => isLine(line) && line.ready === true);
    let round = 1;
    const stream = setInterval(() => void dispatchToEveryShard(server, round++), 10);
    try {
      await first.until((line): line is Line => delivered(first).length >= 40 * shards && isLine(line));
      await first.kill('SIGKILL');
      const identifies = server.counters.identifies;
      const second = startFleetProcess(server.url, path, shards);
      await second.until((line): line is Line => isLine(line) && line.ready === true);
      await second.until((line): line is Line => delivered(second).length >= 20 * shards && isLine(line));
      clearInterval(stream);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.counters.identifies).toBe(identifies);
      expect(handshakes(second)).toEqual(Array(shards).fill('resume'));

      for (let shardId = 0; shardId < shards; shardId++) {
        const before = (first.lines as Line[]).filter((l) => l.shardId === shardId && l.s !== undefined).map((l) => l.s!);
        const after = (second.lines as Line[]).filter((l) => l.shardId === shardId && l.s !== undefined).map((l) => l.s!);
        // The new process replays from the stored sequence (at most one write interval behind):
        // each event once within it, in order; together with the first process's log, every event
        // the server sent to that shard's session, none missing.
        expect(after).toEqual([...new Set(after)].sort((a, b) => a - b));
        expect(after[0]! - 1).toBeLessThanOrEqual(Math.max(...before));
        const sessionId = (second.lines as Line[]).find((l) => l.shardId === shardId && l.ready === 'resume')!.sessionId!;
        expect(new Set([...before, ...after]).size).toBe(server.sessionStats(sessionId)!.dispatched);
      }
    } finally {
      clearInterval(stream);
    }
  }, 30_000);
});
