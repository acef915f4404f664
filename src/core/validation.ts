/**
 * The checks every entry applies to its options (and to what a server answers, which is input
 * too): each failure is a TypeError that names the entry and the option, thrown before anything
 * starts.
 */

/**
 * The longest delay a timer can have: Node (and browsers) fire a longer one after 1 ms, with only a
 * warning, so a duration past it would turn "wait a month" into "at once".
 */
export const maxTimerMs = 2 ** 31 - 1;

export interface OptionChecker {
  /** throws `TypeError("<entry>: <message>")` */
  fail(message: string): never;
  /** a finite number of ms in [min, max] (max defaults to the longest timer) */
  duration(name: string, value: unknown, limits?: { min?: number; max?: number }): number;
  /** a safe integer ≥ min */
  count(name: string, value: unknown, min: number): number;
  /** refuses keys the entry does not know, so a misspelt option is not silently ignored */
  knownKeys(group: string | null, values: object, known: readonly string[]): void;
}

export function optionChecker(entry: string): OptionChecker {
  const fail = (message: string): never => {
    throw new TypeError(`${entry}: ${message}`);
  };
  return {
    fail,
    duration(name, value, { min = 0, max = maxTimerMs } = {}) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
        fail(`${name} must be a finite number ≥ ${min} (ms), got ${String(value)}`);
      }
      if ((value as number) > max) {
        fail(`${name} must be at most ${max} ms${max === maxTimerMs ? ' (the longest timer)' : ''}, got ${String(value)}`);
      }
      return value as number;
    },
    count(name, value, min) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
        fail(`${name} must be a whole number ≥ ${min}, got ${String(value)}`);
      }
      return value as number;
    },
    knownKeys(group, values, known) {
      for (const key of Object.keys(values)) {
        if (!known.includes(key)) {
          const where = group === null ? 'option' : `${group} option`;
          fail(`unknown ${where} ${JSON.stringify(key)} (known: ${known.join(', ')})`);
        }
      }
    },
  };
}
