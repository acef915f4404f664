import { randomBytes } from 'node:crypto';
import { dispatchFrame, type GatewayFrame } from './protocol.ts';

export const DEFAULT_REPLAY_CAPACITY = 10_000;

/**
 * One gateway session: a numbered dispatch stream that outlives the sockets
 * carrying it, so a client that drops out can RESUME and get what it missed.
 */
export class GatewaySession {
  readonly id = randomBytes(16).toString('hex');
  /** Connection currently receiving this session's dispatches, if any. */
  attachedTo: number | undefined;
  /** Events appended by dispatch(), READY and RESUMED excluded. */
  dispatched = 0;
  private lastSeq = 0;
  private readonly replayBuffer: GatewayFrame[] = [];

  /** `shard`: the `[id, count]` its IDENTIFY named, which decides the guilds whose events it gets */
  constructor(
    private readonly replayCapacity = DEFAULT_REPLAY_CAPACITY,
    readonly shard: readonly [number, number] | null = null,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }

  /** Numbers and remembers the next dispatch; `seq` is folded into `d` so clients can check ordering from the payload alone. */
  append(t: string, d: unknown): GatewayFrame {
    const s = ++this.lastSeq;
    const frame = dispatchFrame(t, s, { ...payloadFields(d), seq: s });
    this.replayBuffer.push(frame);
    if (this.replayBuffer.length > this.replayCapacity) this.replayBuffer.shift();
    return frame;
  }

  /**
   * Dispatches the client has not seen yet, or undefined when some of them
   * were already evicted: a partial replay would silently lose events, so the
   * caller must refuse the resume instead.
   */
  framesAfter(seq: number): GatewayFrame[] | undefined {
    if (seq >= this.lastSeq) return [];
    const oldest = this.replayBuffer[0];
    if (oldest?.s == null || oldest.s > seq + 1) return undefined;
    return this.replayBuffer.slice(seq + 1 - oldest.s);
  }
}

function payloadFields(d: unknown): Record<string, unknown> {
  if (d === undefined) return {};
  if (typeof d === 'object' && d !== null && !Array.isArray(d)) return { ...d };
  // Primitives and arrays cannot be merged with `seq`; keep them reachable.
  return { value: d };
}
