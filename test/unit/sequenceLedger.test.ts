import { describe, expect, it } from 'vitest';
import { SequenceLedger } from '../../src/core/sequenceLedger.ts';

describe('SequenceLedger', () => {
  it('starts with no sequence and nothing delivered', () => {
    const ledger = new SequenceLedger();
    expect(ledger.seq).toBeNull();
    expect(ledger.delivered).toBe(0);
  });

  it('accepts increasing sequences, including gaps', () => {
    const ledger = new SequenceLedger();
    expect([1, 2, 5, 6].map((seq) => ledger.accept(seq))).toEqual([true, true, true, true]);
    expect(ledger.seq).toBe(6);
    expect(ledger.delivered).toBe(4);
  });

  it('accepts whatever comes first, 0 included', () => {
    const ledger = new SequenceLedger();
    expect(ledger.accept(0)).toBe(true);
    expect(ledger.seq).toBe(0);
    expect(ledger.accept(0)).toBe(false);
  });

  it('refuses repeats and older sequences without moving back', () => {
    const ledger = new SequenceLedger();
    ledger.accept(10);
    expect(ledger.accept(10)).toBe(false);
    expect(ledger.accept(9)).toBe(false);
    expect(ledger.accept(1)).toBe(false);
    expect(ledger.seq).toBe(10);
    expect(ledger.delivered).toBe(1);
    expect(ledger.accept(11)).toBe(true);
  });

  it('a resume replay delivers only what was missed', () => {
    const ledger = new SequenceLedger();
    for (let seq = 1; seq <= 5; seq += 1) ledger.accept(seq);
    const replay = [3, 4, 5, 6, 7];
    expect(replay.filter((seq) => ledger.accept(seq))).toEqual([6, 7]);
    expect(ledger.delivered).toBe(7);
  });

  it('serialises to its sequence', () => {
    const ledger = new SequenceLedger();
    ledger.accept(3);
    expect(JSON.stringify(ledger)).toBe('{"seq":3}');
  });
});
