/**
 * Turns anything an actor holds into JSON that is safe to show in a browser. Context objects have
 * their own `toJSON` (SocketLine, SequenceLedger, the protocol binding), errors become their
 * message, actors become their id, cycles and depth are cut, and secrets are removed three ways:
 * by key name, by the shape of a gateway handshake (IDENTIFY, op 2; RESUME, op 6), and by value
 * (strings given as secrets, or shaped like a bot token or an Authorization header).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const REDACTED = '[redacted]';

const secretKey = /token|secret|password|passwd|authorization|cookie|credential|api[-_]?key/i;
/** Discord bot tokens: base64 user id, timestamp, HMAC, separated by dots. */
const tokenShape = /[\w-]{20,}\.[\w-]{6,}\.[\w-]{20,}/g;
const headerShape = /\b(Bot|Bearer|Basic)\s+[\w.~+/=-]{8,}/gi;
/** `token=…` in a query string or a log line. */
const assignmentShape = /\b([\w-]*?(?:token|secret|password|passwd|authorization|api[-_]?key))=[^&\s"']+/gi;
/** Handshake frames: their `d` carries the token. */
const handshakeOps = new Set([2, 6]);

const maxDepth = 8;
const maxString = 2_000;
const maxItems = 100;

export interface Redactor {
  (value: unknown): Json;
  /** scrubs one string: the secrets given, token shapes, handshake frames encoded as JSON */
  text(value: string): string;
}

export function createRedactor(secrets: readonly string[] = []): Redactor {
  // Longest first, so a secret that contains another is removed whole.
  const known = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);

  const text = (value: string, depth = 0): string => {
    const handshake = encodedHandshake(value);
    if (handshake !== null) return handshake === 'embedded' ? '[redacted handshake payload]' : `[redacted op ${handshake} payload]`;
    // A frame on its way out is JSON text: redact it by its keys too, as if it were an object.
    const encoded = parseJsonText(value);
    if (encoded !== undefined && depth < maxDepth) return cap(JSON.stringify(walk(encoded, depth + 1, [])));
    let out = value;
    for (const secret of known) out = out.split(secret).join(REDACTED);
    out = out.replace(tokenShape, REDACTED).replace(headerShape, `$1 ${REDACTED}`).replace(assignmentShape, `$1=${REDACTED}`);
    return cap(out);
  };

  const walk = (value: unknown, depth: number, ancestors: object[]): Json => {
    switch (typeof value) {
      case 'string':
        return text(value, depth);
      case 'number':
        return Number.isFinite(value) ? value : String(value);
      case 'boolean':
        return value;
      case 'bigint':
        return `${value}n`;
      case 'undefined':
        return null;
      case 'symbol':
        return text(value.toString());
      case 'function':
        return `[function ${text(value.name || 'anonymous')}]`;
    }
    if (value === null) return null;
    const object = value as object;
    if (ancestors.includes(object)) return '[circular]';
    if (depth >= maxDepth) return '[…]';
    const inner = (child: unknown) => walk(child, depth + 1, [...ancestors, object]);

    if (object instanceof Error) return { error: object.name, message: text(object.message) };
    if (isActorRef(object)) return { actor: text(String(object.id)) };
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      let shown: unknown;
      try {
        shown = toJSON.call(object);
      } catch {
        return '[unserializable]';
      }
      return shown === object ? '[unserializable]' : inner(shown);
    }
    if (Array.isArray(object)) return capped(object).map(inner);
    if (object instanceof Map) return capped([...object.entries()]).map(([k, v]) => [inner(k), inner(v)]);
    if (object instanceof Set) return capped([...object]).map(inner);
    if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return `[${object.constructor.name} ${object.byteLength} bytes]`;

    const isHandshake = handshakeOps.has((object as { op?: unknown }).op as number) && 'd' in object;
    const out: Record<string, Json> = {};
    for (const key of capped(Object.keys(object))) {
      if (secretKey.test(key) || (isHandshake && key === 'd')) {
        out[text(key)] = REDACTED;
        continue;
      }
      let child: unknown;
      try {
        child = (object as Record<string, unknown>)[key];
      } catch {
        child = '[unreadable]';
      }
      out[text(key)] = inner(child);
    }
    return out;
  };

  const redact = ((value: unknown) => walk(value, 0, [])) as Redactor;
  redact.text = (value: string) => text(value);
  return redact;
}

const cap = (text: string) => (text.length > maxString ? `${text.slice(0, maxString)}… (${text.length} chars)` : text);

/** The value of a string that is a JSON object or array, else undefined. */
function parseJsonText(value: string): object | undefined {
  const start = value.trimStart()[0];
  if ((start !== '{' && start !== '[') || value.length > 1_000_000) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function capped<T>(items: T[]): T[] {
  return items.length > maxItems ? items.slice(0, maxItems) : items;
}

function isActorRef(value: object): value is { id: unknown; sessionId: string } {
  return typeof (value as { sessionId?: unknown }).sessionId === 'string' && typeof (value as { send?: unknown }).send === 'function';
}

/** The op of a string that is a JSON-encoded IDENTIFY or RESUME frame (or holds one), else null. */
function encodedHandshake(value: string): number | 'embedded' | null {
  if (!value.includes('"op"')) return null;
  try {
    const frame = JSON.parse(value) as { op?: unknown };
    if (typeof frame === 'object' && frame !== null && handshakeOps.has(frame.op as number)) return frame.op as number;
    return /"op"\s*:\s*[26]\b/.test(value) && /"d"\s*:/.test(value) ? 'embedded' : null;
  } catch {
    // Not JSON; still scrub any "op":2/6 frame embedded in a longer text.
    return /"op"\s*:\s*[26]\b/.test(value) && /"d"\s*:/.test(value) ? 'embedded' : null;
  }
}
