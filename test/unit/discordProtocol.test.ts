import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeDiscordFrame, discordProtocol } from '../../src/protocol/discord/discordProtocol.ts';
import { serverFrames } from '../support/discordFrames.ts';

const TOKEN = 'Bot.very-secret-token.xyz';
const decode = (frame: unknown) => decodeDiscordFrame(typeof frame === 'string' ? frame : JSON.stringify(frame), false);

function expectMalformed(frame: unknown, reason?: RegExp, isBinary = false) {
  const decoded = decodeDiscordFrame(frame, isBinary);
  expect(decoded.kind).toBe('malformed');
  if (reason && decoded.kind === 'malformed') expect(decoded.reason).toMatch(reason);
}

describe('decodeDiscordFrame: every opcode', () => {
  it('op 10 HELLO gives the heartbeat interval', () => {
    expect(decode(serverFrames.hello(41_250))).toEqual({ kind: 'hello', heartbeatInterval: 41_250 });
  });

  it('op 0 READY gives the session id, sequence and resume URL, and the frame as sent for on(dispatch)', () => {
    const frame = serverFrames.ready(1, 'abc', 'wss://r.discord.gg');
    expect(decode(frame)).toEqual({
      kind: 'ready',
      seq: 1,
      sessionId: 'abc',
      resumeUrl: 'wss://r.discord.gg',
      payload: frame,
    });
  });

  it('READY without a resume URL (absent or null) resumes on the main URL', () => {
    expect(decode(serverFrames.ready(1, 'abc'))).toMatchObject({ kind: 'ready', resumeUrl: null });
    expect(decode(serverFrames.ready(1, 'abc', null))).toMatchObject({ kind: 'ready', resumeUrl: null });
  });

  it('op 0 RESUMED gives its sequence and the frame as sent', () => {
    const frame = serverFrames.resumed(42);
    expect(decode(frame)).toEqual({ kind: 'resumed', seq: 42, payload: frame });
  });

  it('op 0 with any other event is a dispatch carrying the whole frame', () => {
    const frame = serverFrames.dispatch('MESSAGE_CREATE', 7, { content: 'hi' });
    expect(decode(frame)).toEqual({ kind: 'dispatch', seq: 7, payload: frame });
  });

  it('op 1, 7, 9 and 11 decode to their kinds', () => {
    expect(decode(serverFrames.heartbeatRequest())).toEqual({ kind: 'heartbeatRequest' });
    expect(decode(serverFrames.reconnect())).toEqual({ kind: 'reconnect' });
    expect(decode(serverFrames.invalidSession(true))).toEqual({ kind: 'invalidSession', resumable: true });
    expect(decode(serverFrames.invalidSession(false))).toEqual({ kind: 'invalidSession', resumable: false });
    expect(decode(serverFrames.heartbeatAck())).toEqual({ kind: 'heartbeatAck' });
  });

  it('accepts a Buffer, an array of Buffer fragments and an ArrayBuffer of text', () => {
    const text = JSON.stringify(serverFrames.heartbeatAck());
    expect(decodeDiscordFrame(Buffer.from(text), false)).toEqual({ kind: 'heartbeatAck' });
    expect(decodeDiscordFrame([Buffer.from(text.slice(0, 3)), Buffer.from(text.slice(3))], false)).toEqual({ kind: 'heartbeatAck' });
    const bytes = new TextEncoder().encode(text);
    const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expect(decodeDiscordFrame(arrayBuffer, false)).toEqual({ kind: 'heartbeatAck' });
  });
});

describe('decodeDiscordFrame: malformed frames never throw', () => {
  it('invalid JSON', () => expectMalformed('{"op": 10,', /invalid JSON/));
  it('a binary frame', () => expectMalformed(Buffer.from(JSON.stringify(serverFrames.heartbeatAck())), /binary/, true));
  it('data of an unknown type', () => expectMalformed(12345, /unknown type/));
  it.each(['null', '[]', '42', '"text"', 'true'])('JSON that is not an object: %s', (text) => expectMalformed(text, /not a JSON object/));
  it.each([3, 99, '10', null])('unknown opcode %s', (op) => expectMalformed(JSON.stringify({ op }), /unknown opcode/));
  it('a frame without op', () => expectMalformed(JSON.stringify({ d: 1 }), /unknown opcode/));

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['huge', 10 * 60_000 + 1],
    ['a string', '41250'],
    ['null', null],
    ['NaN (JSON writes it as null)', Number.NaN],
  ])('HELLO with an interval that is %s', (_label, interval) => {
    expectMalformed(JSON.stringify({ op: 10, d: { heartbeat_interval: interval } }), /HELLO/);
  });

  it('HELLO with an interval JSON.parse reads as Infinity', () => {
    expectMalformed('{"op":10,"d":{"heartbeat_interval":1e999}}', /HELLO/);
  });

  it('HELLO without d or without heartbeat_interval', () => {
    expectMalformed(JSON.stringify({ op: 10 }), /HELLO/);
    expectMalformed(JSON.stringify({ op: 10, d: {} }), /HELLO/);
  });

  it('HELLO at the longest accepted interval (10 min) is fine', () => {
    expect(decode(serverFrames.hello(10 * 60_000))).toEqual({ kind: 'hello', heartbeatInterval: 600_000 });
  });

  it('READY without a session_id, with an empty one, or without d', () => {
    expectMalformed(JSON.stringify({ op: 0, t: 'READY', s: 1, d: {} }), /session_id/);
    expectMalformed(JSON.stringify({ op: 0, t: 'READY', s: 1, d: { session_id: '' } }), /session_id/);
    expectMalformed(JSON.stringify({ op: 0, t: 'READY', s: 1, d: { session_id: 7 } }), /session_id/);
    expectMalformed(JSON.stringify({ op: 0, t: 'READY', s: 1 }), /session_id/);
  });

  it('READY with a resume URL that is not a string', () => {
    expectMalformed(JSON.stringify({ op: 0, t: 'READY', s: 1, d: { session_id: 'a', resume_gateway_url: 5 } }), /resume_gateway_url/);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['negative', -1],
    ['fractional', 1.5],
    ['a string', '3'],
  ])('a dispatch whose s is %s', (_label, s) => {
    expectMalformed(JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s, d: {} }), /sequence/);
  });

  it('a dispatch without an event name (missing, empty, not a string)', () => {
    expectMalformed(JSON.stringify({ op: 0, s: 1, d: {} }), /event name/);
    expectMalformed(JSON.stringify({ op: 0, t: '', s: 1, d: {} }), /event name/);
    expectMalformed(JSON.stringify({ op: 0, t: 5, s: 1, d: {} }), /event name/);
  });

  it('RESUMED without a sequence', () => {
    expectMalformed(JSON.stringify({ op: 0, t: 'RESUMED', d: {} }), /sequence/);
  });

  it.each([undefined, null, 'true', 1])('op 9 whose d is %s rather than a boolean', (d) => {
    expectMalformed(JSON.stringify({ op: 9, d }), /INVALID_SESSION/);
  });
});

describe('discordProtocol', () => {
  const protocol = discordProtocol({ token: TOKEN, intents: 513, properties: { os: 'linux' }, identify: { shard: [0, 1] } });

  it('identify() is op 2 with token, intents, properties and the extra fields', () => {
    expect(JSON.parse(protocol.identify())).toEqual({
      op: 2,
      d: { shard: [0, 1], token: TOKEN, intents: 513, properties: { os: 'linux', browser: 'lifeline', device: 'lifeline' } },
    });
  });

  it('extra IDENTIFY fields cannot replace the token or intents', () => {
    const sneaky = discordProtocol({ token: TOKEN, intents: 1, identify: { token: 'other', intents: 0 } });
    expect(JSON.parse(sneaky.identify()).d).toMatchObject({ token: TOKEN, intents: 1 });
  });

  it('resume() is op 6 with token, session id and the last sequence (or null)', () => {
    expect(JSON.parse(protocol.resume('session-9', 42))).toEqual({ op: 6, d: { token: TOKEN, session_id: 'session-9', seq: 42 } });
    expect(JSON.parse(protocol.resume('session-9', null))).toEqual({ op: 6, d: { token: TOKEN, session_id: 'session-9', seq: null } });
  });

  it('heartbeat() is op 1 with the last sequence (or null)', () => {
    expect(JSON.parse(protocol.heartbeat(17))).toEqual({ op: 1, d: 17 });
    expect(JSON.parse(protocol.heartbeat(null))).toEqual({ op: 1, d: null });
  });

  it('encode() writes JSON and decode is decodeDiscordFrame', () => {
    expect(protocol.encode({ op: 3, d: { status: 'idle' } })).toBe('{"op":3,"d":{"status":"idle"}}');
    expect(protocol.decode).toBe(decodeDiscordFrame);
  });

  it('allows resume URLs on Discord subdomains', () => {
    expect(protocol.allowedResumeHosts).toEqual(['*.discord.gg']);
  });

  it.each([
    ['an empty token', { token: '', intents: 1 }],
    ['a blank token', { token: '   ', intents: 1 }],
    ['a token that is not a string', { token: 42, intents: 1 }],
    ['no token', { intents: 1 }],
    ['negative intents', { token: TOKEN, intents: -1 }],
    ['fractional intents', { token: TOKEN, intents: 1.5 }],
    ['intents that are not a number', { token: TOKEN, intents: '513' }],
    ['unsafe intents', { token: TOKEN, intents: 2 ** 60 }],
  ])('refuses %s', (_label, options) => {
    expect(() => discordProtocol(options as never)).toThrow(TypeError);
  });

  it('refuses to be called without options', () => {
    expect(() => discordProtocol(undefined as never)).toThrow(TypeError);
  });

  it('a constructor error does not echo the token', () => {
    let message = '';
    try {
      discordProtocol({ token: TOKEN, intents: -1 });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain(TOKEN);
  });

  it('JSON.stringify, util.inspect, String and template strings do not reveal the token', () => {
    expect(JSON.stringify(protocol)).not.toContain(TOKEN);
    expect(JSON.stringify({ nested: { protocol } })).not.toContain(TOKEN);
    expect(inspect(protocol)).not.toContain(TOKEN);
    expect(inspect({ nested: protocol }, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(String(protocol)).not.toContain(TOKEN);
    expect(`${protocol as unknown as string}`).not.toContain(TOKEN);
    expect(JSON.stringify(protocol)).toContain('discord-gateway-v10');
  });

  it('the token is not an own enumerable value of the binding', () => {
    expect(Object.values(protocol).some((value) => typeof value === 'string' && value.includes(TOKEN))).toBe(false);
    expect(JSON.stringify({ ...protocol })).not.toContain(TOKEN);
  });
});
