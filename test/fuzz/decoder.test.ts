import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDiscordFrame } from '../../src/protocol/discord/discordProtocol.ts';
import { fuzzCase } from './arbitraries.ts';
import { deepArray, describeData, render } from './frameModel.ts';
import { expectationFor } from './oracle.ts';
import { maxErrorMessageLength } from './verdicts.ts';
import { SocketActorHarness } from './socketHarness.ts';

/**
 * The fast half of the fuzz suite: the same generated frames as frames.test.ts, through the real
 * socket actor (decoder, sequence ledger, heartbeat replies) on a fake socket, thousands of them.
 * What `ws` itself refuses (over maxPayload, text that is not UTF-8) is left to the real-socket half.
 */

const maxPayload = 64 * 1024;
const cases = Number(process.env.FUZZ_DECODER_CASES ?? 5_000);
const harness = new SocketActorHarness('tok-decoder');
afterAll(() => harness.stop());

describe('decodeDiscordFrame on hostile values (regressions)', () => {
  // These threw "Maximum call stack size exceeded" from the error message's JSON.stringify/String().
  it.each([
    ['an opcode nested 10,000 deep', `{"op":${deepArray(10_000)}}`, /unknown opcode an array/],
    [
      'a heartbeat_interval nested 10,000 deep',
      `{"op":10,"d":{"heartbeat_interval":${deepArray(10_000)}}}`,
      /HELLO with an invalid heartbeat_interval \(an array\)/,
    ],
  ])('%s is malformed, not a throw', (_name, text, reason) => {
    const frame = decodeDiscordFrame(text, false);
    expect(frame).toEqual({ kind: 'malformed', reason: expect.stringMatching(reason) });
  });

  it.each([
    ['an opcode', `{"op":"${'x'.repeat(60_000)}"}`],
    ['an event name', `{"op":0,"t":"${'x'.repeat(60_000)}","s":"1"}`],
    ['a heartbeat_interval', `{"op":10,"d":{"heartbeat_interval":"${'x'.repeat(60_000)}"}}`],
  ])('a 60,000-character string as %s is quoted in a few dozen characters', (_name, text) => {
    const frame = decodeDiscordFrame(text, false);
    expect(frame.kind).toBe('malformed');
    expect(frame.kind === 'malformed' && frame.reason.length).toBeLessThan(120);
  });
});

describe(`the socket actor on ${cases} generated frames`, () => {
  it('reports every bad frame with a clear error, and handles every valid one as the protocol says', () => {
    const tally = { malformed: 0, requests: 0, stays: 0, leftToWs: 0 };
    fc.assert(
      fc.property(fuzzCase({ maxPayload }), (fuzzCase) => {
        const ledger = harness.ledger.seq;
        const rendered = render(fuzzCase.body, ledger ?? 0, maxPayload);
        if (!rendered.binary && Buffer.isBuffer(rendered.data) && !isUtf8(rendered.data)) {
          tally.leftToWs += 1;
          return;
        }
        // Every frame is judged as if on a ready session: the handshake phases need the statechart.
        const expected = expectationFor(rendered, 'ready', ledger, Number.POSITIVE_INFINITY);
        const got = harness.receive(rendered.data, rendered.binary);
        const context = `${fuzzCase.label}\n${describeData(rendered)}`;
        if (expected.outcome === 'recovers' && expected.error) {
          tally.malformed += 1;
          expect(got.errors, context).toHaveLength(1);
          const [error] = got.errors;
          expect(error?.name, context).toBe('GatewayProtocolError');
          expect(error?.message, context).toMatch(expected.error);
          expect(error?.message.length, context).toBeLessThanOrEqual(maxErrorMessageLength);
          expect(got.events, context).toEqual([{ type: 'gateway.malformed', generation: 1, reason: error?.message }]);
        } else if (expected.outcome === 'recovers') {
          tally.requests += 1;
          expect(got.errors, context).toEqual([]);
          expect(
            got.events.map((e) => e.type),
            context,
          ).toEqual([expect.stringMatching(/^gateway\.(reconnect|invalidSession)$/)]);
        } else if (expected.outcome === 'stays') {
          tally.stays += 1;
          if (expected.warning)
            expect(
              got.errors.map((e) => e.message),
              context,
            ).toEqual([expect.stringMatching(expected.warning)]);
          else expect(got.errors, context).toEqual([]);
          expect(
            got.events.filter((e) => e.type === 'gateway.malformed'),
            context,
          ).toEqual([]);
          expect(got.dispatched, context).toHaveLength(expected.delivers ? 1 : 0);
          expect(harness.ledger.seq, context).toBe(expected.ledger);
          if (expected.answersHeartbeat)
            expect(
              got.sent.map((s) => JSON.parse(s)),
              context,
            ).toEqual([{ op: 1, d: expected.ledger }]);
        } else {
          throw new Error(`no rule for ${context}: ${JSON.stringify(expected)}`);
        }
      }),
      { numRuns: cases },
    );
    // The generator must reach every branch, or the property says little.
    expect(tally.malformed).toBeGreaterThan(cases / 4);
    expect(tally.stays).toBeGreaterThan(cases / 10);
    expect(tally.requests).toBeGreaterThan(0);
  });
});
