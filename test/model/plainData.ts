import { isDeepStrictEqual } from 'node:util';

/**
 * Where `value` stops being plain data (a class instance, a function, a socket, a number JSON
 * cannot carry), as a path such as `context.connection.line`; null when it is plain data all the way.
 */
export function firstNonPlain(value: unknown, path = 'context'): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} (${value})`;
  if (typeof value !== 'object') return `${path} (${typeof value})`;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = firstNonPlain(item, `${path}[${index}]`);
      if (found) return found;
    }
    return null;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    return `${path} (${(value as { constructor?: { name?: string } }).constructor?.name ?? 'an instance'})`;
  }
  for (const [key, item] of Object.entries(value)) {
    // JSON leaves an undefined property out, which deep equality (as in toEqual) accepts.
    if (item === undefined) continue;
    const found = firstNonPlain(item, `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, withoutUndefined(item)]),
    );
  }
  return value;
}

/** Why `context` is not the same after a JSON round trip, or null when it is. */
export function jsonRoundTripProblem(context: unknown): string | null {
  const nonPlain = firstNonPlain(context);
  if (nonPlain) return `not plain data at ${nonPlain}`;
  const copy = JSON.parse(JSON.stringify(context ?? null)) as unknown;
  return isDeepStrictEqual(copy, withoutUndefined(context ?? null)) ? null : 'changed by a JSON round trip';
}
