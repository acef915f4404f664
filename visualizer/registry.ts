import { StateMachine, type AnyActorRef, type InspectionEvent } from 'xstate';
import { activePaths } from './graph.ts';
import type { ActorInfo, LogEntry, ServerMessage } from './protocol.ts';
import { REDACTED, type Json, type Redactor } from './redact.ts';

/**
 * The live actors of the inspected gateways, kept from inspection events, and the messages that
 * tell a page about them. An actor joins on `@xstate.actor` (or when found in the tree of a gateway
 * attached late) and leaves when it is no longer in its gateway's tree: XState sends no event when
 * a parent stops a child, so after every burst of events the tree is walked again.
 */

type Send = (message: ServerMessage) => void;

/** Socket commands whose fields feed an IDENTIFY or RESUME frame. */
const handshakeCommands = new Set(['identify', 'resume']);

/** `{ connecting: 'fresh' }` → `connecting.fresh`; parallel regions are joined with `, `. */
export function flattenValue(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return null;
  const parts = Object.entries(value).map(([key, child]) => {
    const rest = flattenValue(child);
    return rest ? `${key}.${rest}` : key;
  });
  return parts.length > 1 ? parts.join(', ') : (parts[0] ?? null);
}

function snapshotOf(actor: AnyActorRef): { status: string; value?: unknown; children?: Record<string, AnyActorRef> } {
  try {
    // Undefined until the actor's constructor made its first snapshot.
    return (actor.getSnapshot() as { status: string } | undefined) ?? { status: 'starting' };
  } catch {
    return { status: 'unknown' };
  }
}

function childrenOf(actor: AnyActorRef): AnyActorRef[] {
  const children = snapshotOf(actor).children;
  return children ? Object.values(children).filter(Boolean) : [];
}

export class ActorRegistry {
  readonly #actors = new Map<string, ActorInfo>();
  readonly #refs = new Map<string, AnyActorRef>();
  readonly #roots = new Set<AnyActorRef>();
  readonly #log: LogEntry[] = [];
  #reconcileQueued = false;

  constructor(
    private readonly redact: Redactor,
    private readonly send: Send,
    private readonly logSize = 500,
  ) {}

  get actors(): ActorInfo[] {
    return [...this.#actors.values()];
  }

  get log(): LogEntry[] {
    return [...this.#log];
  }

  /** Starts following a gateway actor, registering whatever it already runs. */
  addRoot(root: AnyActorRef): void {
    this.#roots.add(root);
    const visit = (actor: AnyActorRef, parent: string | null) => {
      this.#register(actor, root, parent);
      for (const child of childrenOf(actor)) visit(child, actor.sessionId);
    };
    visit(root, null);
  }

  /** Forgets a gateway actor and its tree. */
  removeRoot(root: AnyActorRef): void {
    this.#roots.delete(root);
    this.#reconcile();
  }

  observe(event: InspectionEvent): void {
    const at = Date.now();
    switch (event.type) {
      case '@xstate.actor': {
        const actor = event.actorRef as AnyActorRef;
        const root = this.#rootOf(actor);
        if (root) this.#register(actor, root, actor._parent?.sessionId ?? null);
        break;
      }
      case '@xstate.event': {
        if (!this.#actors.has(event.actorRef.sessionId)) break;
        this.send({
          type: '@xstate.event',
          at,
          actor: event.actorRef.sessionId,
          source: event.sourceRef?.sessionId ?? null,
          event: this.#event(event.event),
        });
        break;
      }
      case '@xstate.snapshot': {
        const info = this.#actors.get(event.actorRef.sessionId);
        if (!info) break;
        const snapshot = event.snapshot as { status: string; value?: unknown; context?: unknown; output?: unknown; error?: unknown };
        const from = info.state;
        info.status = snapshot.status;
        if (info.machine) {
          info.state = flattenValue(snapshot.value);
          info.active = activePaths(snapshot.value);
        }
        const log: LogEntry = {
          at,
          actor: info.sessionId,
          actorId: info.id,
          event: this.redact.text(String((event.event as { type?: unknown }).type ?? '')),
          from,
          to: info.state,
          changed: from !== info.state,
        };
        this.#log.push(log);
        if (this.#log.length > this.logSize) this.#log.splice(0, this.#log.length - this.logSize);
        this.send({
          type: '@xstate.snapshot',
          at,
          actor: { ...info },
          event: this.#event(event.event),
          snapshot: {
            status: snapshot.status,
            value: this.redact(snapshot.value ?? null),
            context: this.redact(snapshot.context ?? null),
            output: this.redact(snapshot.output ?? null),
            error: this.redact(snapshot.error ?? null),
          },
          log,
        });
        break;
      }
    }
    this.#queueReconcile();
  }

  #event(event: unknown): Json {
    const type = (event as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && handshakeCommands.has(type)) return { type, payload: REDACTED };
    return this.redact(event);
  }

  #rootOf(actor: AnyActorRef): AnyActorRef | undefined {
    let current: AnyActorRef | undefined = actor;
    while (current?._parent) current = current._parent;
    return current && this.#roots.has(current) ? current : undefined;
  }

  #register(actor: AnyActorRef, root: AnyActorRef, parent: string | null): void {
    if (this.#actors.has(actor.sessionId)) return;
    const snapshot = snapshotOf(actor);
    const logic = (actor as { logic?: unknown }).logic;
    const machine = logic instanceof StateMachine ? logic.id : null;
    const info: ActorInfo = {
      sessionId: actor.sessionId,
      // A root actor created without an id is named after its session; its machine says more.
      id: this.redact.text(actor === root && actor.id === actor.sessionId && machine ? machine : String(actor.id)),
      parent,
      root: root.sessionId,
      machine,
      status: snapshot.status,
      // The constructor announces an actor before its first snapshot exists.
      state: machine && snapshot.value !== undefined ? flattenValue(snapshot.value) : null,
      active: machine && snapshot.value !== undefined ? activePaths(snapshot.value) : [],
      since: Date.now(),
    };
    this.#actors.set(actor.sessionId, info);
    this.#refs.set(actor.sessionId, actor);
    this.send({ type: '@xstate.actor', at: info.since, actor: { ...info } });
  }

  #queueReconcile(): void {
    if (this.#reconcileQueued) return;
    this.#reconcileQueued = true;
    queueMicrotask(() => {
      this.#reconcileQueued = false;
      this.#reconcile();
    });
  }

  /** Drops every actor no longer reachable from a followed gateway. */
  #reconcile(): void {
    const live = new Set<string>();
    const visit = (actor: AnyActorRef) => {
      live.add(actor.sessionId);
      for (const child of childrenOf(actor)) visit(child);
    };
    for (const root of this.#roots) visit(root);
    for (const sessionId of [...this.#actors.keys()]) {
      if (live.has(sessionId)) continue;
      this.#actors.delete(sessionId);
      this.#refs.delete(sessionId);
      this.send({ type: 'lifeline.actor.stopped', at: Date.now(), actor: sessionId });
    }
    // A root's final status arrives in its last snapshot; children finished without one.
    for (const [sessionId, info] of this.#actors) {
      const ref = this.#refs.get(sessionId);
      if (ref) info.status = snapshotOf(ref).status;
    }
  }
}
