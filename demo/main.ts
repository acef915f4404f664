import { createGateway, discordProtocol, type GatewayStateChange } from '../src/index.ts';
import { startChaosGateway } from '../src/testing/index.ts';
import { clearStickyFaults, faults } from './faults.ts';

/**
 * A live run of the engine against the embedded chaos gateway: every fault in turn, each state
 * change as it happens, and the time each recovery took. Ends by itself.
 */

const tty = process.stdout.isTTY;
const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const dim = (text: string) => paint(2, text);
const bold = (text: string) => paint(1, text);
const green = (text: string) => paint(32, text);
const red = (text: string) => paint(31, text);
const yellow = (text: string) => paint(33, text);

const token = 'demo-token-not-a-secret';
const server = await startChaosGateway({ heartbeatInterval: 400, token });
const gateway = createGateway({
  url: server.url,
  protocol: discordProtocol({ token, intents: 513 }),
  timeouts: { hello: 500, ready: 500, drain: 300, terminateGrace: 200, stable: 300 },
  backoff: { baseMs: 50, maxMs: 500, invalidSessionMinMs: 150, invalidSessionMaxMs: 400 },
});

const t0 = performance.now();
const stamp = () => dim(`${String(Math.round(performance.now() - t0)).padStart(6)} ms`);
let lastDelivered = 0;
let delivered = 0;
let outOfOrder = 0;
let mostSocketsOpen = 0;
let waitingForReady: (() => void) | undefined;

function describe(state: GatewayStateChange): string {
  switch (state.state) {
    case 'connecting':
      return `${yellow('connecting')} ${state.kind} ${dim('›')} ${state.phase ?? ''}${state.phase === 'draining' ? dim(`  (${state.reason})`) : ''}`;
    case 'ready': {
      const what = state.handshake === 'resume' ? 'RESUMED' : 'READY';
      const took = state.recoveryMs === undefined ? '' : ` in ${bold(`${state.recoveryMs} ms`)}`;
      return `${green('ready')} ${dim('›')} ${what}${took}`;
    }
    case 'failed':
      return `${red('failed')} ${dim('›')} ${state.failure?.message ?? ''}`;
    default:
      return state.state;
  }
}

gateway.on('state', (state) => {
  mostSocketsOpen = Math.max(mostSocketsOpen, server.counters.open);
  console.log(`${stamp()}  ${describe(state)}`);
  if (state.state === 'connecting') clearStickyFaults(server);
  // A fresh session numbers its events from 1 again.
  if (state.state === 'ready' && state.handshake === 'identify') lastDelivered = 0;
  if (state.state === 'ready' || state.state === 'failed') waitingForReady?.();
});
gateway.on('error', (error) => console.log(`${stamp()}  ${dim(`error: ${error.message}`)}`));
gateway.on('dispatch', (event) => {
  if (event.s <= lastDelivered) outOfOrder += 1;
  lastDelivered = event.s;
  delivered += 1;
});

const settled = () => new Promise<void>((resolve) => (waitingForReady = resolve));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

console.log(bold(`lifeline demo: a gateway client against the chaos gateway at ${server.url}\n`));
await gateway.start();
server.startStream(200);

for (const fault of faults) {
  await pause(400);
  console.log(`\n${stamp()}  ${bold(`▶ ${fault.label}`)} ${dim(`(expect: ${fault.expect})`)}`);
  const recovered = settled();
  await Promise.all([recovered, Promise.resolve(fault.inject(server, gateway)).catch(() => {})]);
  // Some recoveries pass through `ready` on the way (a HELLO stall ladder); let them finish.
  while (gateway.status === 'connecting') await settled();
  if (gateway.status === 'failed') break;
}

server.stopStream();
const output = await gateway.stop();
await server.close();

console.log(`\n${bold('summary')}`);
console.log(`  events delivered     ${delivered}`);
console.log(`  out of order / dup   ${outOfOrder}`);
console.log(`  most sockets open    ${mostSocketsOpen}`);
console.log(`  connections          ${server.counters.connections} (identify ${server.counters.identifies}, resume ${server.counters.resumes})`);
console.log(`  final state          ${output.status}${output.status === 'failed' ? ` (${output.failure.message})` : ''}`);
