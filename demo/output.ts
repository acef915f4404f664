import type { GatewayStateChange } from '../src/index.ts';

/** How the demo prints: colours on a terminal only, times relative to the start of the run. */

const tty = process.stdout.isTTY;
const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
export const dim = (text: string) => paint(2, text);
export const bold = (text: string) => paint(1, text);
export const green = (text: string) => paint(32, text);
export const red = (text: string) => paint(31, text);
export const yellow = (text: string) => paint(33, text);

const t0 = performance.now();
export const stamp = () => dim(`${String(Math.round(performance.now() - t0)).padStart(6)} ms`);

export function describe(state: GatewayStateChange): string {
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
