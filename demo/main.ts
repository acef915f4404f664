import type { Gateway } from '../src/index.ts';
import { startChaosGateway } from '../src/testing/index.ts';
import { serveInspector, type Inspector, type InspectorOptions } from '../visualizer/server.ts';
import { parseDemoArgs, usage } from './args.ts';
import { faults, streamRate } from './faults.ts';
import { bold, dim, stamp } from './output.ts';
import { FaultRunner } from './runner.ts';
import { DemoSession } from './session.ts';

/**
 * A live run of the engine against the embedded chaos gateway, with the offline inspector: every
 * fault in turn, each state change as it happens, and the time each recovery took. Runs the fault
 * script round and round until Ctrl-C; `--once` runs it once and exits (CI).
 */

const args = parseDemoArgs(process.argv.slice(2), process.env);
if (args.kind === 'help') {
  process.stdout.write(usage);
  process.exit(0);
}
if (args.kind === 'error') {
  process.stderr.write(`${args.message}\n\n${usage}`);
  process.exit(2);
}
const { once, port } = args;

const token = 'demo-token-not-a-secret';
const server = await startChaosGateway({ heartbeatInterval: 400, token });
const session = new DemoSession(server, token);

let runner: FaultRunner | undefined;
const inspectorOptions: InspectorOptions = {
  port,
  secrets: [token],
  faults: {
    list: faults,
    inject: (id) => {
      const fault = faults.find((f) => f.id === id);
      if (!fault || !runner) throw new Error(`no fault ${id}`);
      return runner.request(fault);
    },
  },
};
const inspector = await openInspector(session.gateway, inspectorOptions);

let shown = session.gateway;
runner = new FaultRunner(session, server, {
  // Long enough in the endless demo for the page's slow-motion replay to catch up between faults.
  pauseMs: once ? 400 : 4_000,
  replaceFailed: !once,
  // The failed gateway stays on the page until its replacement is there to take its place.
  beforeStart: async (next: Gateway) => {
    await inspector.attach(next);
    inspector.detach(shown);
    shown = next;
  },
  onFault: (fault, status) => inspector.reportFault(fault, status),
});

let signals = 0;
const onSignal = () => {
  signals += 1;
  if (signals > 1) process.exit(130);
  console.log(`\n${stamp()}  ${bold('stopping')} ${dim('(Ctrl-C again to force)')}`);
  runner?.stop();
  void session.stop();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

console.log(bold(`lifeline demo: a gateway client against the chaos gateway at ${server.url}`));
console.log(
  `${bold('inspector')}  ${inspector.url}  ${dim(once ? '(--once: the script runs once)' : '(open it in a browser; Ctrl-C to stop)')}\n`,
);

await session.gateway.start().catch(() => {});
server.startStream(streamRate);
await runner.run(faults, { loop: !once });

server.stopStream();
const output = await session.stop();
await inspector.close();
await server.close();
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);

console.log(`\n${bold('summary')}`);
console.log(`  events delivered     ${session.delivered}`);
console.log(`  out of order / dup   ${session.outOfOrder}`);
console.log(`  most sockets open    ${session.mostSocketsOpen}`);
console.log(
  `  connections          ${server.counters.connections} (identify ${server.counters.identifies}, resume ${server.counters.resumes})`,
);
if (session.gateways > 1) console.log(`  gateways             ${session.gateways} (each failed one replaced)`);
console.log(`  final state          ${output.status}${output.status === 'failed' ? ` (${output.failure.message})` : ''}`);

/** The inspector on the port asked for, or on any free port when that one is taken. */
async function openInspector(gateway: Gateway, options: InspectorOptions): Promise<Inspector> {
  try {
    return await serveInspector(gateway, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port === 0) throw error;
    console.log(dim(`port ${options.port} is taken; the inspector uses a free one`));
    return serveInspector(gateway, { ...options, port: 0 });
  }
}
