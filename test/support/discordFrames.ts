/** Server frames of the Discord gateway v10, as a fake server would send them. */
export const serverFrames = {
  hello: (heartbeatInterval = 41_250) => ({ op: 10, d: { heartbeat_interval: heartbeatInterval } }),
  ready: (s: number, sessionId: string, resumeUrl?: string | null) => ({
    op: 0,
    t: 'READY',
    s,
    d: { v: 10, session_id: sessionId, ...(resumeUrl === undefined ? {} : { resume_gateway_url: resumeUrl }) },
  }),
  resumed: (s: number) => ({ op: 0, t: 'RESUMED', s, d: {} }),
  dispatch: (t: string, s: number, d: unknown = {}) => ({ op: 0, t, s, d }),
  heartbeatRequest: () => ({ op: 1, d: null }),
  reconnect: () => ({ op: 7, d: null }),
  invalidSession: (resumable: boolean) => ({ op: 9, d: resumable }),
  heartbeatAck: () => ({ op: 11 }),
};

/** Client opcodes, to read what the engine sent. */
export const ClientOp = { HEARTBEAT: 1, IDENTIFY: 2, RESUME: 6 } as const;
