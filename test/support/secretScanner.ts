import { inspect } from 'node:util';

/**
 * Looks for a secret in everything a test hands it, and remembers where it was found. It searches
 * for the whole secret and for its distinctive tail alone, so a secret that was cut, re-prefixed
 * or quoted still counts.
 */
export class SecretScanner {
  readonly findings: string[] = [];
  /** texts searched, per sink: a sink never searched proves nothing */
  readonly scanned = new Map<string, number>();
  private readonly needles: string[];

  constructor(secret: string, distinctiveTail: string) {
    this.needles = [secret, distinctiveTail];
  }

  contains(text: string): boolean {
    return this.needles.some((needle) => text.includes(needle));
  }

  check(sink: string, text: string): void {
    this.scanned.set(sink, (this.scanned.get(sink) ?? 0) + 1);
    if (!this.contains(text)) return;
    const at = Math.max(0, ...this.needles.map((needle) => text.indexOf(needle)));
    this.findings.push(`${sink}: …${text.slice(Math.max(0, at - 80), at + 80)}…`);
  }

  /** An error as every kind of logging would show it. */
  checkError(sink: string, error: unknown): void {
    this.check(sink, `${String(error)}\n${(error as Error)?.stack ?? ''}\n${serialize(error)}\n${inspect(error, { depth: 4 })}`);
  }
}

/**
 * JSON.stringify that never throws: cycles and shared objects are cut, functions are named, and
 * errors keep their name, message, stack, String() and own properties (JSON.stringify drops them).
 * `toJSON` is honoured, as any logger that serialises would.
 */
export function serialize(value: unknown): string {
  const seen = new WeakSet<object>();
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'function') return `[function ${v.name}]`;
      if (typeof v === 'symbol') return v.toString();
      if (typeof v !== 'object' || v === null) return v;
      if (seen.has(v)) return '[seen]';
      seen.add(v);
      if (v instanceof Error) {
        return { ...v, name: v.name, message: v.message, stack: v.stack, string: String(v), cause: (v as { cause?: unknown }).cause };
      }
      return v;
    }) ?? String(value)
  );
}
