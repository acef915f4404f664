import { baseFrames } from './arbitraries.ts';
import { deepArray, deepObject, json, raw, seq, setPath, type Body, type FuzzCase, type Node, type Phase } from './frameModel.ts';

/**
 * Every kind of frame the issue names, once each, so that every run covers all of them whatever
 * the random generator picks.
 */

const node = (label: string, frame: Node, phase: Phase = 'ready'): FuzzCase => ({ label, phase, body: { as: 'node', node: frame } });
const body = (label: string, b: Body, phase: Phase = 'ready'): FuzzCase => ({ label, phase, body: b });
const hello = (interval: Node) => setPath(baseFrames.HELLO, ['d', 'heartbeat_interval'], interval);

export const namedCases: FuzzCase[] = [
  body('invalid JSON', { as: 'text', text: '{"op":10,"d":' }),
  body('binary', { as: 'bytes', bytes: [...Buffer.from('{"op":11}')], binary: true }),
  body('empty text', { as: 'text', text: '' }),
  body('empty binary', { as: 'bytes', bytes: [], binary: true }),
  body('text that is not UTF-8', { as: 'bytes', bytes: [0x7b, 0xff, 0xfe, 0x7d], binary: false }),
  body('an array nested 10,000 deep', { as: 'text', text: deepArray(10_000) }),
  body('an object nested 10,000 deep', { as: 'text', text: deepObject(10_000) }),
  node('an opcode nested 10,000 deep', setPath(baseFrames.HELLO, ['op'], raw(deepArray(10_000)))),
  node('a dispatch whose d is nested 10,000 deep', setPath(baseFrames.DISPATCH, ['d'], raw(deepArray(10_000)))),
  body('one byte over the max payload', { as: 'oversize', excess: 1 }),
  node('unknown opcode 42', setPath(baseFrames.RECONNECT, ['op'], json(42))),
  node('opcode as a string', setPath(baseFrames.HELLO, ['op'], json('10'))),
  node('no opcode', setPath(baseFrames.HEARTBEAT_ACK, ['op'], undefined)),
  ...(['0', '-1', '"NaN"', 'null', '1e999', '1e308', '600001', '"45000"', '{}'] as const).flatMap((interval) => [
    node(`HELLO heartbeat_interval ${interval} on a ready session`, hello(raw(interval))),
    node(`HELLO heartbeat_interval ${interval} in the handshake`, hello(raw(interval)), 'hello'),
  ]),
  node('HELLO without d', setPath(baseFrames.HELLO, ['d'], undefined), 'hello'),
  node('HELLO at the longest accepted interval, in the handshake', hello(json(600_000)), 'hello'),
  node('READY without session_id', setPath(baseFrames.READY, ['d', 'session_id'], undefined), 'identify'),
  node('READY with an empty session_id', setPath(baseFrames.READY, ['d', 'session_id'], json('')), 'identify'),
  node('READY with a numeric session_id', setPath(baseFrames.READY, ['d', 'session_id'], json(7)), 'identify'),
  node('READY whose d is an array', setPath(baseFrames.READY, ['d'], json([])), 'identify'),
  node('READY whose resume_gateway_url is a number', setPath(baseFrames.READY, ['d', 'resume_gateway_url'], json(5)), 'identify'),
  node(
    'READY whose resume_gateway_url is not a URL',
    setPath(baseFrames.READY, ['d', 'resume_gateway_url'], json('not a url')),
    'identify',
  ),
  node('READY without session_id on a ready session', setPath(baseFrames.READY, ['d', 'session_id'], undefined)),
  node('DISPATCH with a numeric t', setPath(baseFrames.DISPATCH, ['t'], json(5))),
  node('DISPATCH with s as a string', setPath(baseFrames.DISPATCH, ['s'], json('3'))),
  node('DISPATCH with a negative s', setPath(baseFrames.DISPATCH, ['s'], json(-1))),
  node('DISPATCH with a fractional s', setPath(baseFrames.DISPATCH, ['s'], json(1.5))),
  node('DISPATCH repeating the last sequence', setPath(baseFrames.DISPATCH, ['s'], seq(0))),
  node('DISPATCH going backwards', setPath(baseFrames.DISPATCH, ['s'], seq(-1))),
  node('DISPATCH jumping ahead', setPath(baseFrames.DISPATCH, ['s'], seq(1_000))),
  node('INVALID_SESSION with d "false"', setPath(baseFrames.INVALID_SESSION, ['d'], json('false'))),
  node('INVALID_SESSION without d', setPath(baseFrames.INVALID_SESSION, ['d'], undefined)),
  node('INVALID_SESSION d=false', setPath(baseFrames.INVALID_SESSION, ['d'], json(false))),
  node('RECONNECT', baseFrames.RECONNECT),
  node('HEARTBEAT request', baseFrames.HEARTBEAT),
];
