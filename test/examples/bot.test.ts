import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startChaosGateway, type ChaosGateway } from '../../src/testing/index.ts';

/** examples/bot.ts run as a user runs it, against the chaos gateway's REST API and gateway: no network. */

const token = 'example-bot-token-77d1';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runBot(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/bot.ts'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DISCORD_TOKEN: '', DISCORD_API_URL: '', ...env },
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp) => {
    const deadline = Date.now() + 20_000;
    while (!pattern.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} from the bot:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, exited, waitFor, output: () => output };
}

async function chaos(): Promise<ChaosGateway> {
  const server = await startChaosGateway({ heartbeatInterval: 5_000, token, gatewayBot: { shards: 1 } });
  cleanups.push(() => server.close());
  return server;
}

describe('examples/bot.ts', () => {
  it(
    'finds the gateway through GET /gateway/bot, logs MESSAGE_CREATE, resumes after a kill, stops on SIGINT',
    { timeout: 40_000 },
    async () => {
      const server = await chaos();
      const bot = runBot({ DISCORD_TOKEN: token, DISCORD_API_URL: server.apiUrl });
      await bot.waitFor(/ready \(identify\)/);
      expect(bot.output()).toContain(`gateway ws://127.0.0.1:${server.port}, 1000 session starts left today`);

      server.dispatch('MESSAGE_CREATE', { channel_id: '42', content: 'hello there', author: { username: 'ada' } });
      server.dispatch('TYPING_START', { channel_id: '42' });
      await bot.waitFor(/MESSAGE_CREATE #42 ada: hello there/);

      server.kill();
      await bot.waitFor(/ready \(resume\)/);
      server.dispatch('MESSAGE_CREATE', { channel_id: '42', content: 'still here?', author: { username: 'ada' } });
      await bot.waitFor(/MESSAGE_CREATE #42 ada: still here\?/);

      bot.child.kill('SIGINT');
      expect(await bot.exited).toBe(0);
      expect(bot.output()).toMatch(/stopped\n$/);
      expect(bot.output()).not.toContain('TYPING_START');
      expect(server.counters.identifies).toBe(1);
      expect(server.counters.maxOpen).toBe(1);
    },
  );

  it('exits 1 with a clear message without a token, or when the API refuses it', async () => {
    const missing = runBot({});
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toMatch(/Set DISCORD_TOKEN/);

    const server = await chaos();
    const refused = runBot({ DISCORD_TOKEN: 'not-the-token', DISCORD_API_URL: server.apiUrl });
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain('GET /gateway/bot answered 401');
    expect(server.counters.connections).toBe(0);
  });
});
