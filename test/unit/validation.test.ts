import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import { createGateway } from '../../src/api/createGateway.ts';
import { superviseGateway } from '../../src/api/superviseGateway.ts';

/**
 * Bad options are refused at the call, synchronously, with a TypeError naming the option; nothing
 * is left to fail later inside an actor, where it could only crash the process or go unnoticed.
 */

const base = { url: 'ws://127.0.0.1:1/?v=10&encoding=json', protocol: discordProtocol({ token: 't', intents: 1 }) };
const create = (extra: Record<string, unknown>) => () => createGateway({ ...base, ...extra });
const supervise = (extra: Record<string, unknown>) => () => superviseGateway({ ...base, ...extra });

const tooLong = 2 ** 31;

describe('durations are checked against the timer range', () => {
  it.each([
    ['timeouts', 'hello'],
    ['timeouts', 'ready'],
    ['timeouts', 'stable'],
    ['timeouts', 'drain'],
    ['backoff', 'maxMs'],
    ['outbox', 'windowMs'],
  ])('%s.%s above 2^31-1 ms is refused by createGateway', (group, name) => {
    expect(create({ [group]: { [name]: 3e9 } })).toThrow(TypeError);
    expect(create({ [group]: { [name]: 3e9 } })).toThrow(`${group}.${name}`);
    expect(create({ [group]: { [name]: 2 ** 31 - 1 } })).not.toThrow();
  });

  it('the largest timer Node can set is accepted, one more is not', () => {
    expect(create({ timeouts: { hello: tooLong - 1 } })).not.toThrow();
    expect(create({ timeouts: { hello: tooLong } })).toThrow(/timeouts\.hello.*2147483647/);
  });
});

describe('outbox.maxQueued', () => {
  it('0 is refused: a queue that holds nothing could never send', () => {
    expect(create({ outbox: { maxQueued: 0 } })).toThrow(/outbox\.maxQueued/);
    expect(create({ outbox: { maxQueued: 1.5 } })).toThrow(/outbox\.maxQueued/);
    expect(create({ outbox: { maxQueued: 1 } })).not.toThrow();
  });
});

describe('superviseGateway validates at the call', () => {
  it('refuses bad gateway options synchronously, with the option named', () => {
    expect(supervise({ timeouts: { hello: -5 } })).toThrow(TypeError);
    expect(supervise({ timeouts: { hello: -5 } })).toThrow('timeouts.hello');
    expect(supervise({ url: 'http://x' })).toThrow(/url/);
  });

  it.each([
    [{ windowMs: Infinity }, 'supervisor.windowMs'],
    [{ windowMs: -1 }, 'supervisor.windowMs'],
    [{ windowMs: 0 }, 'supervisor.windowMs'],
    [{ windowMs: 3e9 }, 'supervisor.windowMs'],
    [{ maxRestarts: NaN }, 'supervisor.maxRestarts'],
    [{ maxRestarts: -1 }, 'supervisor.maxRestarts'],
    [{ maxRestarts: 1.5 }, 'supervisor.maxRestarts'],
    [{ cooldownBaseMs: -100 }, 'supervisor.cooldownBaseMs'],
    [{ cooldownMaxMs: 3e9 }, 'supervisor.cooldownMaxMs'],
    [{ maxRestart: 3 }, '"maxRestart"'],
  ])('refuses supervisor %o naming %s', (supervisor, named) => {
    expect(supervise({ supervisor })).toThrow(TypeError);
    expect(supervise({ supervisor })).toThrow(named);
  });

  it('refuses a supervisor option that is not an object', () => {
    expect(supervise({ supervisor: 5 })).toThrow(/supervisor must be an object/);
  });

  it('a process that catches the TypeError keeps running (no asynchronous crash)', () => {
    const script = `
      import { superviseGateway, discordProtocol } from './src/index.ts';
      try {
        superviseGateway({ url: 'ws://127.0.0.1:1/', protocol: discordProtocol({ token: 't', intents: 1 }), timeouts: { hello: -5 } });
      } catch (error) { console.log('caught', error.name); }
      setTimeout(() => console.log('alive'), 50);
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url).pathname,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.stdout).toContain('caught TypeError');
    expect(result.stdout).toContain('alive');
    expect(result.status).toBe(0);
  });
});
