import { isUtf8 } from 'node:buffer';
import type { Phase, Rendered } from './frameModel.ts';

/**
 * What the engine must do with a frame, written from the protocol and the README rather than from
 * the decoder: an independent reading that the fuzzer checks the engine against.
 */
export type Expectation =
  /**
   * on a ready session: no reconnect, and no error but the `warning` when set (a dispatch whose
   * sequence skips ahead or goes back); the ledger ends at `ledger`; a dispatch is delivered or dropped
   */
  | { outcome: 'stays'; ledger: number | null; delivers: boolean; answersHeartbeat: boolean; warning: RegExp | null }
  /** an `error` event matching `error` (none when null), then a reconnect by the recovery table back to ready */
  | { outcome: 'recovers'; error: RegExp | null }
  /** in place of HELLO or READY: the handshake goes on to ready, with a warning when `warning` is set */
  | { outcome: 'accepted'; warning: RegExp | null }
  /** the generator produced something this phase has no rule for (a bug in the fuzzer) */
  | { outcome: 'unsupported'; why: string };

const recovers = (error: RegExp | null): Expectation => ({ outcome: 'recovers', error });
const maxHeartbeatInterval = 600_000;
const minHeartbeatInterval = 10;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isSequence = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * `compressed`: the connection reads a compressed stream. A frame then goes through the server's
 * compressor as one message (or, a stream fault, past it), and what the message inflates to is
 * read as text whatever its frame type.
 */
export function expectationFor(
  rendered: Rendered,
  phase: Phase,
  ledger: number | null,
  maxPayload: number,
  compressed = false,
): Expectation {
  const bytes = typeof rendered.data === 'string' ? Buffer.from(rendered.data) : rendered.data;
  if (compressed) {
    switch (rendered.streamFault) {
      case 'garbage':
        // A byte or two is not yet a whole zstd block header: zstd-stream refuses the frame for that.
        return recovers(/compressed stream: (corrupt|a frame that completes no message)/);
      case 'text':
        return recovers(/compressed stream: text frame on a/);
      case 'foreign':
        // The start of another stream, read mid-stream: zlib or zstd refuses it as corrupt.
        return recovers(/compressed stream: corrupt/);
    }
    if (bytes.length > maxPayload) return recovers(/compressed stream: a message inflates past maxPayload/);
    if (!isUtf8(bytes)) return recovers(/compressed stream: a message that is not valid UTF-8/);
  } else {
    // Transport-level faults are `ws`'s to report; the socket then closes (1006/1009) and resumes.
    if (bytes.length > maxPayload) return recovers(/Max payload size exceeded/);
    if (rendered.binary) return recovers(/binary frame/);
    if (!isUtf8(bytes)) return recovers(/invalid UTF-8/);
  }
  let frame: unknown;
  try {
    frame = JSON.parse(bytes.toString('utf8'));
  } catch {
    return recovers(/invalid JSON/);
  }
  if (!isRecord(frame)) return recovers(/not a JSON object/);
  const valid = validFrame(frame);
  if ('error' in valid) return recovers(valid.error);
  return inPhase(valid.kind, frame, phase, ledger);
}

type Verdict =
  { kind: 'hello' | 'ready' | 'resumed' | 'dispatch' | 'heartbeat' | 'reconnect' | 'invalidSession' | 'ack' } | { error: RegExp };

function validFrame(frame: Record<string, unknown>): Verdict {
  switch (frame.op) {
    case 0:
      return validDispatch(frame);
    case 1:
      return { kind: 'heartbeat' };
    case 7:
      return { kind: 'reconnect' };
    case 9:
      return typeof frame.d === 'boolean' ? { kind: 'invalidSession' } : { error: /INVALID_SESSION without a boolean d/ };
    case 10: {
      const interval = isRecord(frame.d) ? frame.d.heartbeat_interval : undefined;
      const sane =
        typeof interval === 'number' && Number.isFinite(interval) && interval >= minHeartbeatInterval && interval <= maxHeartbeatInterval;
      return sane ? { kind: 'hello' } : { error: /HELLO with an invalid heartbeat_interval/ };
    }
    case 11:
      return { kind: 'ack' };
    default:
      return { error: /unknown opcode/ };
  }
}

function validDispatch(frame: Record<string, unknown>): Verdict {
  const { t, s, d } = frame;
  if (typeof t !== 'string' || t === '') return { error: /DISPATCH without an event name/ };
  if (!isSequence(s)) return { error: /without a valid sequence number/ };
  if (t === 'READY') {
    if (!isRecord(d) || typeof d.session_id !== 'string' || d.session_id === '') return { error: /READY without a session_id/ };
    const url = d.resume_gateway_url;
    if (url !== undefined && url !== null && typeof url !== 'string') return { error: /resume_gateway_url that is not a string/ };
    return { kind: 'ready' };
  }
  return { kind: t === 'RESUMED' ? 'resumed' : 'dispatch' };
}

function inPhase(kind: string, frame: Record<string, unknown>, phase: Phase, ledger: number | null): Expectation {
  const s = frame.s as number;
  const stays = (moves: boolean, answersHeartbeat = false): Expectation => {
    const advances = moves && (ledger === null || s > ledger);
    // README: a skipped range is reported as a gap, an event after a later one as dropped.
    let warning: RegExp | null = null;
    if (moves && kind === 'dispatch' && ledger !== null) {
      if (s <= ledger) warning = /arrived after \d+ and was dropped/;
      else if (s > ledger + 1) warning = /^sequence jumped from \d+ to \d+: events? [\d–]+ (is|are) missing$/;
    }
    return { outcome: 'stays', ledger: advances ? s : ledger, delivers: advances && kind === 'dispatch', answersHeartbeat, warning };
  };
  if (phase === 'hello') {
    return kind === 'hello' ? { outcome: 'accepted', warning: null } : { outcome: 'unsupported', why: `${kind} instead of HELLO` };
  }
  if (phase === 'identify') {
    if (kind !== 'ready') return { outcome: 'unsupported', why: `${kind} instead of READY` };
    // Any string the generator puts there breaks the resume URL rule (none names an allowed host).
    const url = (frame.d as Record<string, unknown>).resume_gateway_url;
    return { outcome: 'accepted', warning: typeof url === 'string' ? /resume_gateway_url/ : null };
  }
  switch (kind) {
    // A ready session has had its HELLO and READY: another one is ignored whole, sequence included.
    case 'hello':
    case 'ack':
    case 'ready':
    case 'resumed':
      return stays(false);
    case 'heartbeat':
      return stays(false, true);
    case 'dispatch':
      return stays(true);
    default:
      // op 7 and a well-formed op 9 are requests, not faults: a reconnect without an error.
      return recovers(null);
  }
}
