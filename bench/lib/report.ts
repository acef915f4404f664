import type { AnyContenderName, ContenderName } from '../contenders/index.ts';

/** One comparison's contribution to the report. */
export interface Comparison {
  title: string;
  /** how it was measured, in a sentence or two */
  method: string;
  /** a markdown table */
  table: string;
  notes: string[];
  targets: TargetCheck[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  /** null when it could not be decided (e.g. a contender failed) */
  met: boolean | null;
}

/** The contenders in a different order each round, so none always runs first or last. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** Progress on stderr, so stdout holds only the report. */
export function progress(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

export function verdict(met: boolean | null): string {
  return met === null ? 'n/a' : met ? 'met' : '**missed**';
}

export type PerContender<T> = Record<ContenderName, T>;

/** Per contender of one comparison, whatever its contenders are. */
export type Per<N extends AnyContenderName, T> = Record<N, T>;
