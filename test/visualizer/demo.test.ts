import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { faults } from '../../demo/faults.ts';
import { FaultRunner } from '../../demo/runner.ts';
import { DemoSession } from '../../demo/session.ts';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';

/** The demo behind `npm start`: its fault runner, and the process ending cleanly on Ctrl-C. */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

const fault = (id: string) => faults.find((f) => f.id === id)!;

describe('demo fault runner', () => {
  it('serialises button faults, and replaces a gateway that a fatal close left failed', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const token = 'demo-test-token';
    const server: ChaosGateway = await startChaosGateway({ heartbeatInterval: 400, token });
    cleanups.push(() => server.close());
    const session = new DemoSession(server, token);
    cleanups.push(async () => void (await session.stop()));
    const attached: string[] = [];
    const runner = new FaultRunner(session, server, {
      pauseMs: 50,
      replaceFailed: true,
      beforeStart: (gateway) => void attached.push(gateway.actor.sessionId),
    });
    await session.gateway.start();
    const first = session.gateway;

    // Two button presses at once, and no script: they run one after the other, then the run ends.
    const requests = Promise.allSettled([runner.request(fault('kill')), runner.request(fault('close4004'))]);
    await runner.run([], { loop: false });
    expect((await requests).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);

    expect(first.status).toBe('failed');
    expect(session.gateways).toBe(2);
    expect(session.gateway).not.toBe(first);
    expect(session.gateway.status).toBe('ready');
    expect(attached).toEqual([session.gateway.actor.sessionId]);
    expect(server.counters.maxOpen).toBe(1);

    await expect(runner.request(fault('kill'))).rejects.toThrow(/stopping/);
  });
});

describe('npm start', () => {
  it('stops on SIGINT: gateway, inspector and server closed, summary printed, exit 0', { timeout: 30_000 }, async () => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'demo/main.ts', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += String(chunk)));
    child.stderr!.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 20_000;
    while (!/RESUMED in \d+ ms/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not get going:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /inspector\s+(http:\/\/\S+)/.exec(output)?.[1];
    expect(url).toBeDefined();
    expect((await fetch(url!)).status).toBe(200);

    child.kill('SIGINT');
    const started = Date.now();
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(output).toMatch(/summary[\s\S]*final state\s+stopped/);
    await expect(fetch(url!)).rejects.toThrow();
  });
});
