import { fileURLToPath } from 'node:url';
import type { ClientApi } from '../clientProcess.ts';
import type { AnyContenderName } from '../contenders/index.ts';
import type { GatewayApi } from '../gatewayProcess.ts';
import { buildChildren, builtPath } from './build.ts';
import { Child } from './ipc.ts';

export type GatewayProcess = Child<GatewayApi>;
export type ClientProcess = Child<ClientApi>;

const gatewayEntry = 'bench/gatewayProcess.ts';
const clientEntry = 'bench/clientProcess.ts';

/**
 * Children run compiled JavaScript (see build.ts). BENCH_LOADER=tsx runs the TypeScript through
 * tsx instead, to see what the loader itself costs.
 */
const viaTsx = process.env.BENCH_LOADER === 'tsx';
let built = false;

function entry(path: string): string {
  if (viaTsx) return fileURLToPath(new URL(`../../${path}`, import.meta.url));
  if (!built) {
    buildChildren([gatewayEntry, clientEntry]);
    built = true;
  }
  return builtPath(path);
}

/** How the child processes run, for the report. */
export function childRuntime(): string {
  return viaTsx ? 'TypeScript through the tsx loader' : 'JavaScript compiled by tsc';
}

/** The chaos gateway in its own process; call `start` on it before use. */
export function startGatewayProcess(): Promise<GatewayProcess> {
  return Child.start<GatewayApi>(entry(gatewayEntry), 'gateway', { tsx: viaTsx });
}

/** One contender's client in its own process, with gc() exposed for clean measurements. */
export function startClientProcess(contender: AnyContenderName): Promise<ClientProcess> {
  const profile = process.env.BENCH_CPU_PROF;
  return Child.start<ClientApi>(entry(clientEntry), contender, {
    tsx: viaTsx,
    args: [contender],
    nodeFlags: ['--expose-gc', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])],
  });
}
