import { afterEach, describe, expect, it } from 'vitest';
import { closeFleets, startFleet, startFleetServer } from './support/fleetHarness.ts';

afterEach(closeFleets);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("the shard manager's own identify queue, when GET /gateway/bot is slow to answer", () => {
  it("counts the reset from when the request went out too: Discord's new period never gets one too many", async () => {
    // Discord's period ends 200 ms after the budget is read, and it allows one IDENTIFY per period.
    const server = await startFleetServer({
      maxConcurrency: 2,
      identifyWindowMs: 20,
      budget: { total: 1, remaining: 1, resetAfterMs: 200 },
    });
    // The answer is read at once and reaches the fleet 300 ms later: the reset it names is behind us.
    const gatewayInfo = async () => {
      const answer = { url: server.url, shards: 2, session_start_limit: server.sessionStartLimit() };
      await sleep(300);
      return answer;
    };
    const h = startFleet(server, { shardCount: 2, gatewayInfo });
    void h.fleet.start().catch(() => {});
    await h.waitFor(() => server.identified.length > 0, 'the first IDENTIFY');
    // A queue that trusted the answer's moment would grant from the old period's budget at once
    // (counted in Discord's new one), then refill and grant the other shard in the same period.
    await sleep(500);
    expect(server.violations).toEqual([]);
    expect(server.identified).toHaveLength(1);
    expect(h.fleet.shards()['1']?.status).not.toBe('ready');
  }, 10_000);
});
