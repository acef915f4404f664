import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** What the numbers were measured on, for the report header. */
export function describeMachine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memory = `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`;
  return `${model}, ${cpus.length} cores, ${memory} RAM, Node ${process.version}, ${os.type()} ${os.release()} (${os.arch()})`;
}

/** The 1-minute load average: other work on the machine shows up in every number. */
export function loadAverage(): string {
  return os.loadavg()[0]!.toFixed(2);
}

/** The commit measured, marked when src/ has uncommitted changes; null outside a git checkout. */
export function sourceRevision(): string | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--', 'src') ? `${commit} with uncommitted changes in src/` : commit;
  } catch {
    return null;
  }
}
