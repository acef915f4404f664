import type { LaidOutGraph } from './layout.ts';
import type { Json } from './redact.ts';

/**
 * What the inspector server sends to the page, one JSON message per WebSocket frame. The three
 * `@xstate.*` messages are XState's inspection events, made serialisable and redacted; the
 * `lifeline.*` ones are the inspector's own. Every message carries `at`, the server's Date.now().
 */

export interface ActorInfo {
  sessionId: string;
  /** the id its parent gave it (the invoke id), e.g. `freshReconnect`, `socket` */
  id: string;
  parent: string | null;
  /** the session id of the gateway actor it belongs to */
  root: string;
  /** the machine's id when the actor is a state machine, whose graph the page draws */
  machine: string | null;
  status: string;
  /** the state value, flattened (`connecting.fresh`); null for actors that are not machines */
  state: string | null;
  /** paths of the active states, for highlighting ('' is the machine itself) */
  active: string[];
  since: number;
}

export interface LogEntry {
  at: number;
  actor: string;
  actorId: string;
  event: string;
  from: string | null;
  to: string | null;
  /** false when the event left the actor in the same state */
  changed: boolean;
}

export interface Recovery {
  id: number;
  /** the gateway actor's session id */
  gateway: string;
  startedAt: number;
  reason: string | null;
  /** the reconnect actors it took, in order: e.g. resume, resume, fresh */
  kinds: ('fresh' | 'resume')[];
  endedAt: number | null;
  outcome: 'READY' | 'RESUMED' | 'failed' | 'stopped' | null;
  /** the engine's own measure, from the fault or request to READY/RESUMED */
  recoveryMs: number | null;
}

export interface FaultInfo {
  id: string;
  label: string;
  expect?: string;
}

export type ServerMessage =
  | {
      type: 'lifeline.init';
      at: number;
      graphs: LaidOutGraph[];
      actors: ActorInfo[];
      log: LogEntry[];
      recoveries: Recovery[];
      faults: FaultInfo[];
    }
  | { type: '@xstate.actor'; at: number; actor: ActorInfo }
  | { type: '@xstate.event'; at: number; actor: string; source: string | null; event: Json }
  | {
      type: '@xstate.snapshot';
      at: number;
      actor: ActorInfo;
      event: Json;
      snapshot: { status: string; value: Json; context: Json; output: Json; error: Json };
      log: LogEntry;
    }
  | { type: 'lifeline.actor.stopped'; at: number; actor: string }
  | { type: 'lifeline.recovery'; at: number; recovery: Recovery }
  | {
      type: 'lifeline.fault';
      at: number;
      fault: string;
      label: string;
      /** requested from a page; started (injected now, e.g. by a script); done or failed */
      status: FaultStatus;
      expect?: string;
      message?: string;
    };

export type FaultStatus = 'requested' | 'started' | 'done' | 'failed';
