/** A state value as text: `a.b.c` for a nested value, the name itself for a top-level one. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, child] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    return key === undefined ? '' : child && (typeof child !== 'object' || Object.keys(child).length) ? `${key}.${flatten(child)}` : key;
  }
  return '';
}
