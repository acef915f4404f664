import fc from 'fast-check';
import {
  deepArray,
  deepObject,
  fields,
  json,
  nodeText,
  raw,
  seq,
  setPath,
  type Body,
  type FuzzCase,
  type Node,
  type Phase,
} from './frameModel.ts';

/**
 * fast-check arbitraries for hostile server frames. Structured first: pick a frame the Discord
 * gateway sends, then replace or remove some of its fields with values of the wrong type (or
 * valid but odd ones: sequences that go backwards or jump, tiny heartbeat intervals). Then the
 * unstructured: invalid JSON, binary, empty, deeply nested, over the max payload, not UTF-8.
 */

const knownOps = new Set([0, 1, 7, 9, 10, 11]);

export const baseFrames = {
  HELLO: fields(['op', json(10)], ['d', fields(['heartbeat_interval', json(45_000)])], ['s', json(null)], ['t', json(null)]),
  READY: fields(
    ['op', json(0)],
    ['t', json('READY')],
    ['s', seq(1)],
    [
      'd',
      fields(
        ['v', json(10)],
        ['session_id', json('fuzz-session')],
        ['resume_gateway_url', json(null)],
        ['user', json({ id: '1', username: 'fuzz' })],
        ['guilds', json([])],
      ),
    ],
  ),
  RESUMED: fields(['op', json(0)], ['t', json('RESUMED')], ['s', seq(1)], ['d', json({})]),
  DISPATCH: fields(['op', json(0)], ['t', json('FUZZ_EVENT')], ['s', seq(1)], ['d', json({ content: 'hi' })]),
  INVALID_SESSION: fields(['op', json(9)], ['d', json(true)], ['s', json(null)], ['t', json(null)]),
  HEARTBEAT: fields(['op', json(1)], ['d', json(null)], ['s', json(null)], ['t', json(null)]),
  RECONNECT: fields(['op', json(7)], ['d', json(null)], ['s', json(null)], ['t', json(null)]),
  HEARTBEAT_ACK: fields(['op', json(11)], ['d', json(null)], ['s', json(null)], ['t', json(null)]),
} as const;

type FrameName = keyof typeof baseFrames;

const anyJson = fc.jsonValue({ maxDepth: 2, depthSize: 'small' });
const notA = (isRight: (value: unknown) => boolean) => anyJson.filter((value) => !isRight(value)).map(json);
const isNumber = (value: unknown) => typeof value === 'number';
const isString = (value: unknown) => typeof value === 'string';
const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Values JSON cannot carry as numbers, or numbers that are not sane, all written as text. */
const nastyNumber: fc.Arbitrary<Node> = fc.oneof(
  fc.constantFrom('0', '-0', '-1', '-0.5', '600001', '1e308', '-1e308', '1e999', '-1e999', '9007199254740993').map(raw),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '41250', '').map(json),
  fc.constant(json(null)),
  fc.integer({ min: -1_000_000, max: 0 }).map(json),
  fc.double({ min: 600_000.001, max: 1e300, noNaN: true }).map(json),
);

const deepNode = fc
  .integer({ min: 1_000, max: 12_000 })
  .chain((depth) => fc.constantFrom(raw(deepArray(depth)), raw(deepObject(depth)), raw(deepArray(10_000))));

/** Valid sequence numbers relative to the client's ledger: duplicates, going backwards, jumping. */
const relativeSeq = fc.oneof(fc.integer({ min: -5, max: 0 }), fc.integer({ min: 1, max: 1_000_000 })).map(seq);

const wrongSeq: fc.Arbitrary<Node> = fc.oneof(
  notA((value) => Number.isSafeInteger(value) && (value as number) >= 0),
  fc.constantFrom('-1', '1.5', '9007199254740993', '1e999').map(raw),
);

interface Mutation {
  path: string[];
  /** undefined removes the field */
  value: fc.Arbitrary<Node | undefined>;
}

/** Which fields of each frame the fuzzer breaks, and with what. */
function mutationsOf(frame: FrameName, phase: Phase): Mutation[] {
  const removed = fc.constant(undefined);
  const op: Mutation = {
    path: ['op'],
    // Other known opcodes would change the frame's meaning, not break it; in a handshake any
    // number at all would leave the handshake waiting (a different test), so only non-numbers.
    value:
      phase === 'ready'
        ? fc.oneof(
            notA(isNumber),
            fc
              .integer({ min: -1000, max: 1000 })
              .filter((n) => !knownOps.has(n))
              .map(json),
            removed,
          )
        : fc.oneof(notA(isNumber), removed),
  };
  const eventName: Mutation = {
    path: ['t'],
    value:
      phase === 'ready'
        ? fc.oneof(notA(isString), fc.constant(json('')), removed, fc.string().map(json))
        : fc.oneof(notA(isString), fc.constant(json('')), removed),
  };
  const sequence: Mutation = { path: ['s'], value: fc.oneof(wrongSeq, relativeSeq, removed) };
  const junk: Mutation[] = [
    { path: ['s'], value: anyJson.map(json) },
    { path: ['t'], value: anyJson.map(json) },
  ];
  switch (frame) {
    case 'HELLO':
      return [
        op,
        { path: ['d'], value: fc.oneof(notA(isObject), deepNode, removed) },
        {
          path: ['d', 'heartbeat_interval'],
          value: fc.oneof(
            { weight: 3, arbitrary: nastyNumber },
            { weight: 2, arbitrary: notA(isNumber) },
            { weight: 1, arbitrary: deepNode },
            { weight: 1, arbitrary: removed },
            // valid but odd: fractional, tiny, the longest accepted
            { weight: 1, arbitrary: fc.oneof(fc.double({ min: 5e-324, max: 600_000, noNaN: true }), fc.constant(600_000)).map(json) },
          ),
        },
        ...junk,
      ];
    case 'READY':
      return [
        op,
        eventName,
        sequence,
        { path: ['d'], value: fc.oneof(notA(isObject), deepNode, removed) },
        { path: ['d', 'session_id'], value: fc.oneof(notA(isString), fc.constant(json('')), deepNode, removed) },
        {
          path: ['d', 'resume_gateway_url'],
          value: fc.oneof(
            notA((value) => value === null || isString(value)),
            removed,
            // strings the resume URL rule refuses: a warning, not a protocol error
            fc.constantFrom('not a url', '', 'http://127.0.0.1:1', 'wss://evil.example.com', 'ws://gateway.discord.gg.evil.com').map(json),
            fc.integer({ min: 100, max: 5_000 }).map((n) => json(`${'x'.repeat(n)}://host`)),
          ),
        },
        { path: ['d', 'user'], value: fc.oneof(anyJson.map(json), deepNode) },
      ];
    case 'DISPATCH':
      return [op, eventName, sequence, { path: ['d'], value: fc.oneof(anyJson.map(json), deepNode, removed) }];
    case 'RESUMED':
      return [op, eventName, sequence];
    case 'INVALID_SESSION':
      return [
        op,
        {
          path: ['d'],
          value: fc.oneof(
            notA((value) => typeof value === 'boolean'),
            fc.boolean().map(json),
            deepNode,
            removed,
          ),
        },
        ...junk,
      ];
    case 'HEARTBEAT':
    case 'RECONNECT':
    case 'HEARTBEAT_ACK':
      return [op, { path: ['d'], value: anyJson.map(json) }, ...junk];
  }
}

function structured(frame: FrameName, phase: Phase): fc.Arbitrary<FuzzCase> {
  const mutation = fc.constantFrom(...mutationsOf(frame, phase)).chain((m) => m.value.map((value) => ({ path: m.path, value })));
  return fc.array(mutation, { minLength: 0, maxLength: 2 }).map((mutations) => {
    let node: Node = baseFrames[frame];
    for (const { path, value } of mutations) node = setPath(node, path, value);
    const what = mutations.map(({ path, value }) => `${path.join('.')} := ${value === undefined ? '(removed)' : short(value)}`);
    return { label: `${frame}${what.length ? ` ${what.join(', ')}` : ''}`, phase, body: { as: 'node', node } };
  });
}

function short(node: Node): string {
  const text =
    'json' in node
      ? (JSON.stringify(node.json) ?? 'undefined')
      : 'raw' in node
        ? node.raw
        : 'seq' in node
          ? `ledger${node.seq >= 0 ? '+' : ''}${node.seq}`
          : '{…}';
  return text.length > 40 ? `${text.slice(0, 40)}… (${text.length} chars)` : text;
}

const unstructured = (label: string, body: fc.Arbitrary<Body>, phase: Phase): fc.Arbitrary<FuzzCase> =>
  body.map((b) => ({ label, phase, body: b }));

/** Frames every phase must reject: each is malformed however it is read. */
function garbage(phase: Phase): fc.Arbitrary<FuzzCase>[] {
  const frameText = fc.constantFrom(...Object.values(baseFrames)).map((node) => nodeText(node, 1));
  return [
    // A strict prefix of an object's text is never valid JSON.
    unstructured(
      'invalid JSON (a truncated frame)',
      frameText.chain((text) => fc.integer({ min: 1, max: text.length - 1 }).map((n) => ({ as: 'text' as const, text: text.slice(0, n) }))),
      phase,
    ),
    unstructured(
      'invalid JSON (a control character first)',
      fc.string().map((s) => ({ as: 'text' as const, text: `\u0001${s}` })),
      phase,
    ),
    unstructured('empty text frame', fc.constant({ as: 'text' as const, text: '' }), phase),
    unstructured(
      'binary frame',
      fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ as: 'bytes' as const, bytes: [...bytes], binary: true })),
      phase,
    ),
    unstructured(
      'a valid HELLO sent as binary',
      fc.constant({ as: 'bytes' as const, bytes: [...Buffer.from('{"op":10,"d":{"heartbeat_interval":45000}}')], binary: true }),
      phase,
    ),
    unstructured(
      'text frame that is not UTF-8',
      fc
        .uint8Array({ minLength: 1, maxLength: 32 })
        .map((bytes) => ({ as: 'bytes' as const, bytes: [0xc3, 0x28, ...bytes], binary: false })),
      phase,
    ),
    unstructured(
      'deeply nested JSON',
      fc
        .integer({ min: 1_000, max: 30_000 })
        .chain((depth) =>
          fc.constantFrom(
            { as: 'text' as const, text: deepArray(depth) },
            { as: 'text' as const, text: '['.repeat(depth) },
            { as: 'text' as const, text: `{"op":${deepArray(depth)}}` },
          ),
        ),
      phase,
    ),
    unstructured(
      'over the max payload',
      fc.integer({ min: 1, max: 4_096 }).map((excess) => ({ as: 'oversize' as const, excess })),
      phase,
    ),
    unstructured(
      'JSON that is not a frame',
      fc
        .oneof(
          fc.jsonValue({ maxDepth: 2 }).filter((v) => !isObject(v)),
          fc.constant({}),
        )
        .map((v) => ({ as: 'text' as const, text: JSON.stringify(v) })),
      phase,
    ),
  ];
}

export interface CaseOptions {
  /** the client's max payload in bytes: frames are generated around it */
  maxPayload: number;
  /** a compressed run: faults of the stream itself are generated too */
  compressed?: boolean;
}

/**
 * Faults of a compressed stream. Another stream's first message is a fault only once this stream
 * has begun: in place of HELLO it is simply the stream's start.
 */
function streamFaults(phase: Phase): fc.Arbitrary<FuzzCase> {
  const faults = phase === 'hello' ? (['garbage', 'text'] as const) : (['garbage', 'text', 'foreign'] as const);
  return fc.record({ fault: fc.constantFrom(...faults), bytes: fc.uint8Array({ maxLength: 64 }) }).map(({ fault, bytes }) => ({
    label: `compressed stream: ${fault}`,
    phase,
    body: { as: 'stream' as const, fault, bytes: [...bytes] },
  }));
}

/**
 * An empty message is no message on a compressed stream (zlib-stream reads an empty flush as
 * nothing, zstd-stream refuses a frame that completes no message), so a compressed run sends none.
 */
export function isEmptyMessage(fuzzCase: FuzzCase): boolean {
  const { body } = fuzzCase;
  return (body.as === 'text' && body.text === '') || (body.as === 'bytes' && body.bytes.length === 0);
}

/** Cases about the frame type of a JSON connection: on a compressed stream every frame is binary. */
export function isAboutFrameType(fuzzCase: FuzzCase): boolean {
  return fuzzCase.label === 'a valid HELLO sent as binary';
}

/** Frames on a ready session: anything at all. */
function readyCases({ maxPayload }: CaseOptions): fc.Arbitrary<FuzzCase> {
  const names = Object.keys(baseFrames) as FrameName[];
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...names).chain((name) => structured(name, 'ready')) },
    { weight: 4, arbitrary: fc.oneof(...garbage('ready')) },
    {
      weight: 1,
      arbitrary: unstructured(
        'a deeply nested dispatch d',
        fc
          .integer({ min: 1_000, max: 30_000 })
          .map((depth) => ({ as: 'node' as const, node: setPath(baseFrames.DISPATCH, ['d'], raw(deepArray(depth))) })),
        'ready',
      ),
    },
    {
      weight: 1,
      arbitrary: unstructured(
        'a large dispatch under the max payload',
        fc
          .integer({ min: Math.floor(maxPayload / 2), max: maxPayload - 100 })
          .map((n) => ({ as: 'node' as const, node: setPath(baseFrames.DISPATCH, ['d'], json('x'.repeat(n))) })),
        'ready',
      ),
    },
    {
      weight: 1,
      arbitrary: unstructured(
        'random text',
        fc.string({ maxLength: 64 }).map((text) => ({ as: 'text' as const, text })),
        'ready',
      ),
    },
  );
}

/** All generated cases: mostly on a ready session, some in place of HELLO or READY. */
export function fuzzCase(options: CaseOptions): fc.Arbitrary<FuzzCase> {
  const cases = fc.oneof(
    { weight: 16, arbitrary: readyCases(options) },
    { weight: 2, arbitrary: fc.oneof({ weight: 3, arbitrary: structured('HELLO', 'hello') }, ...garbage('hello')) },
    { weight: 2, arbitrary: fc.oneof({ weight: 3, arbitrary: structured('READY', 'identify') }, ...garbage('identify')) },
  );
  if (!options.compressed) return cases;
  return fc.oneof(
    { weight: 16, arbitrary: cases.filter((c) => !isEmptyMessage(c) && !isAboutFrameType(c)) },
    { weight: 3, arbitrary: streamFaults('ready') },
    { weight: 1, arbitrary: fc.constantFrom('hello' as const, 'identify' as const).chain(streamFaults) },
  );
}
