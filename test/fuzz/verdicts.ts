import { describeData, type FuzzCase, type Rendered } from './frameModel.ts';
import type { Expectation } from './oracle.ts';

/** An error message longer than this is not a clear message: it is a dump of what the server sent. */
export const maxErrorMessageLength = 512;

/**
 * Bugs found by this fuzzer in files it may not change, reported to their owner. A case that hits
 * one is counted under its name instead of failing, so the rest of the run still means something;
 * `frames.test.ts` pins each one down with a test that is expected to fail until it is fixed.
 */
export const knownIssues: { name: string; matches: (error: Error) => boolean }[] = [];

export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

export interface CaseTrace {
  fuzzCase: FuzzCase;
  rendered: Rendered;
  expected: Expectation;
  ledger: number | null;
  errors: Error[];
  states: string;
  status: string;
}

/** Everything needed to understand (and replay by hand) a case that went wrong. */
export function describeFailure(what: string, trace: CaseTrace): string {
  const errors = trace.errors.map((e) => `${e.name}: ${e.message.slice(0, 160)}`);
  return [
    what,
    `  case: ${trace.fuzzCase.label} (phase ${trace.fuzzCase.phase}, ledger ${trace.ledger})`,
    `  frame: ${describeData(trace.rendered)}`,
    `  expected: ${JSON.stringify(trace.expected, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}`,
    `  errors: ${errors.length ? errors.join(' | ') : 'none'}`,
    `  states: ${trace.states || 'none'}; now ${trace.status}`,
  ].join('\n');
}
