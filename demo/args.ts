import { parseArgs } from 'node:util';

/** The command line of `npm start`: a bad flag is a one-line message and the usage, never a stack trace. */

export const usage = `Usage: npm start -- [options]

Runs the chaos gateway, a lifeline-gateway client against it and the offline inspector, and injects
every kind of fault in turn, printing each state change and how long each recovery took.

Options:
  --once        run the fault script once, then stop and exit (for CI)
  --port N      the inspector's port (default 4777, or LIFELINE_INSPECTOR_PORT; 0 for any free one;
                a port that is taken falls back to a free one)
  -h, --help    print this and exit
`;

export type DemoArgs = { kind: 'run'; once: boolean; port: number } | { kind: 'help' } | { kind: 'error'; message: string };

export function parseDemoArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): DemoArgs {
  let values: { once?: boolean; port?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        once: { type: 'boolean', default: false },
        port: { type: 'string', default: env.LIFELINE_INSPECTOR_PORT ?? '4777' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    // parseArgs's messages name the flag; its stack says nothing a user needs.
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };
  const port = Number(values.port);
  if (values.port === '' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    return { kind: 'error', message: `--port must be a port number (0 for any free one), not ${JSON.stringify(values.port)}` };
  }
  return { kind: 'run', once: values.once === true, port };
}
