import { describe, expect, it } from 'vitest';
import { discordProtocol } from '../../src/index.ts';
import { SequenceLedger } from '../../src/core/sequenceLedger.ts';
import { SocketLine } from '../../src/connection/socketLine.ts';
import { createRedactor, REDACTED } from '../../visualizer/redact.ts';

const botToken = 'MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.abcdefghijklmnopqrstuvwxyz0123';

describe('redaction of what the inspector streams', () => {
  const redact = createRedactor(['plain-hidden-value']);

  it('removes values under secret-looking keys, at any depth', () => {
    const out = JSON.stringify(redact({ a: { token: 'x1', nested: [{ Authorization: 'Bot abc', apiKey: 'k', password: 'p' }] } }));
    expect(out).not.toMatch(/x1|Bot abc|"k"|"p"/);
    expect(out.match(new RegExp(REDACTED.replace(/[[\]]/g, '\\$&'), 'g'))).toHaveLength(4);
  });

  it('removes the payload of IDENTIFY and RESUME, as objects and as encoded frames', () => {
    const protocol = discordProtocol({ token: 'handshake-token-1234', intents: 1 });
    const frames = [protocol.identify(), protocol.resume('session-1', 42)];
    const out = JSON.stringify(
      redact({ sent: frames, frame: { op: 2, d: { token: 'handshake-token-1234', intents: 1 } }, other: { op: 6, d: 'x' } }),
    );
    expect(out).not.toContain('handshake-token-1234');
    expect(out).not.toContain('session-1');
    expect(out).toContain('[redacted op 2 payload]');
    expect(out).toContain('[redacted op 6 payload]');
    expect(JSON.parse(out).other).toEqual({ op: 6, d: REDACTED });
    // Other frames stay readable: a heartbeat is not a secret.
    expect(redact(protocol.heartbeat(7))).toBe('{"op":1,"d":7}');
  });

  it('scrubs token-shaped strings, auth headers, token= parameters and the secrets it was given, inside any text', () => {
    expect(redact(`connecting with ${botToken} now`)).toBe(`connecting with ${REDACTED} now`);
    expect(redact('Authorization: Bot abcdefghijk123')).toBe(`Authorization: Bot ${REDACTED}`);
    expect(redact('wss://example.test/?v=10&access_token=abc123&x=1')).toBe(`wss://example.test/?v=10&access_token=${REDACTED}&x=1`);
    expect(redact({ note: 'the plain-hidden-value leaked' })).toEqual({ note: `the ${REDACTED} leaked` });
    expect(redact({ ['key-plain-hidden-value']: 1 })).toEqual({ [`key-${REDACTED}`]: 1 });
    expect(redact({ ['token-plain-hidden-value']: 1 })).toEqual({ [`token-${REDACTED}`]: REDACTED });
  });

  it('uses toJSON, so the protocol binding shows its name and never its token', () => {
    const protocol = discordProtocol({ token: 'binding-token-5678', intents: 1 });
    const line = new SocketLine();
    const ledger = new SequenceLedger();
    ledger.accept(3);
    const out = redact({ protocol, line, ledger });
    expect(out).toEqual({ protocol: { name: 'discord-gateway-v10' }, line: { live: false, sealed: false, opened: 0 }, ledger: { seq: 3 } });
    expect(JSON.stringify(out)).not.toContain('binding-token-5678');
  });

  it('never throws: cycles, throwing getters and toJSON, functions, bigints, errors, actors, deep nesting', () => {
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    const hostile = {
      get boom() {
        throw new Error('getter');
      },
      toJSONless: Object.create(null),
    };
    const badJson = {
      toJSON: () => {
        throw new Error('toJSON');
      },
    };
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 50; i++) deep = { deeper: deep };
    const actorLike = { id: 'socket', sessionId: 'x:1', send: () => {}, logic: { secret: 'inside the actor' } };
    const value = {
      cycle,
      hostile,
      badJson,
      fn: function named() {},
      big: 10n,
      sym: Symbol('s'),
      nan: NaN,
      error: new TypeError(`bad ${botToken}`),
      actor: actorLike,
      deep,
      map: new Map([['a', 1]]),
      set: new Set([1, 2]),
      bytes: new Uint8Array(4),
      long: 'x'.repeat(5_000),
      many: Array.from({ length: 500 }, (_, i) => i),
    };
    const out = redact(value) as Record<string, unknown>;
    expect(() => JSON.stringify(out)).not.toThrow();
    expect(out.cycle).toEqual({ name: 'loop', self: '[circular]' });
    expect(out.hostile).toEqual({ boom: '[unreadable]', toJSONless: {} });
    expect(out.badJson).toBe('[unserializable]');
    expect(out.fn).toBe('[function named]');
    expect(out.big).toBe('10n');
    expect(out.nan).toBe('NaN');
    expect(out.error).toEqual({ error: 'TypeError', message: `bad ${REDACTED}` });
    expect(out.actor).toEqual({ actor: 'socket' });
    expect(JSON.stringify(out.deep)).toContain('[…]');
    expect(out.map).toEqual([['a', 1]]);
    expect(out.set).toEqual([1, 2]);
    expect(out.bytes).toBe('[Uint8Array 4 bytes]');
    expect((out.long as string).length).toBeLessThan(2_100);
    expect(out.many).toHaveLength(100);
    expect(JSON.stringify(out)).not.toContain('inside the actor');
  });

  it('keeps shared (non-circular) references', () => {
    const shared = { v: 1 };
    expect(redact({ a: shared, b: shared })).toEqual({ a: { v: 1 }, b: { v: 1 } });
  });
});
