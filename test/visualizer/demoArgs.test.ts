import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseDemoArgs, usage } from '../../demo/args.ts';

describe('npm start command line', () => {
  it('reads --once and --port, with LIFELINE_INSPECTOR_PORT and 4777 as defaults', () => {
    expect(parseDemoArgs([])).toEqual({ kind: 'run', once: false, port: 4777 });
    expect(parseDemoArgs(['--once', '--port', '0'])).toEqual({ kind: 'run', once: true, port: 0 });
    expect(parseDemoArgs([], { LIFELINE_INSPECTOR_PORT: '5000' })).toEqual({ kind: 'run', once: false, port: 5000 });
    expect(parseDemoArgs(['-h'])).toEqual({ kind: 'help' });
  });

  it('turns a bad flag or port into a message, not a throw', () => {
    expect(parseDemoArgs(['--bogus'])).toEqual({ kind: 'error', message: expect.stringContaining("'--bogus'") });
    expect(parseDemoArgs(['--port'])).toEqual({ kind: 'error', message: expect.stringContaining('--port') });
    for (const port of ['x', '', '-1', '65536', '1.5']) {
      expect(parseDemoArgs([`--port=${port}`])).toEqual({
        kind: 'error',
        message: `--port must be a port number (0 for any free one), not ${JSON.stringify(port)}`,
      });
    }
  });

  it('--help prints the usage and exits 0; a bad flag prints the message and usage, exits 2, no stack trace', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'demo/main.ts', ...args], { encoding: 'utf8', timeout: 20_000 });
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(usage);
    const bad = run(['--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/^Unknown option '--bogus'/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(bad.stderr.endsWith(usage)).toBe(true);
  });
});
