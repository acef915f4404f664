import type { AnyActorRef } from 'xstate';
import { createGatewayMachine, type Gateway, type ShardManager, type SupervisedGateway } from '../src/index.ts';
import { collectMachines, machineGraph } from './graph.ts';
import { layoutGraph, type LaidOutGraph } from './layout.ts';
import type { FaultInfo, ServerMessage } from './protocol.ts';
import { RecoveryTimeline } from './recoveries.ts';
import type { Redactor } from './redact.ts';
import { ActorRegistry } from './registry.ts';

/**
 * Everything the inspector knows, independent of how it reaches a page: the laid-out statecharts,
 * the registry of live actors, the event log and the recovery timeline. Gateways are attached and
 * detached; every change goes out through `broadcast` as a message a page understands.
 */
export class InspectorHub {
  readonly #graphs = new Map<string, LaidOutGraph>();
  readonly #registry: ActorRegistry;
  readonly #timeline: RecoveryTimeline;
  readonly #detach = new Map<InspectedTarget, () => void>();
  readonly #redact: Redactor;

  constructor(
    private readonly broadcast: (message: ServerMessage) => void,
    private readonly faults: readonly FaultInfo[],
    redact: Redactor,
  ) {
    this.#redact = redact;
    this.#registry = new ActorRegistry(redact, broadcast);
    this.#timeline = new RecoveryTimeline((recovery) => broadcast({ type: 'lifeline.recovery', at: Date.now(), recovery }));
  }

  /**
   * Lays out every machine the gateway (or the fleet and its shards, or the supervisor and its
   * runs) can run that is not drawn yet.
   */
  async draw(target: InspectedTarget): Promise<void> {
    const roots = isFleet(target) ? [target.actor.logic, createGatewayMachine()] : [target.actor.logic];
    const missing = roots.flatMap((root) => collectMachines(root)).filter((machine) => !this.#graphs.has(machine.id));
    const laid = await Promise.all(missing.map((machine) => layoutGraph(machineGraph(machine))));
    for (const graph of laid) this.#graphs.set(graph.id, graph);
  }

  /** Follows a gateway, a fleet or a supervised gateway, whichever `target` is. */
  follow(target: InspectedTarget): () => void {
    if (isFleet(target)) return this.attachFleet(target);
    if (isSupervised(target)) return this.attachSupervised(target);
    return this.attach(target);
  }

  attach(gateway: Gateway): () => void {
    const existing = this.#detach.get(gateway);
    if (existing) return existing;
    const root = gateway.actor;
    const stopInspecting = gateway.inspect((event) => this.#registry.observe(event));
    const stopListening = gateway.on('state', (change) => this.#timeline.record(root.sessionId, change));
    this.#registry.addRoot(root);
    const detach = () => {
      if (!this.#detach.delete(gateway)) return;
      stopInspecting();
      stopListening();
      this.#registry.removeRoot(root);
    };
    this.#detach.set(gateway, detach);
    return detach;
  }

  /**
   * Follows a fleet: the manager's actor, and each shard's gateway from the moment it is made until
   * it ends, so the page shows the manager's view of every shard beside each shard's own actors.
   */
  attachFleet(fleet: ShardManager): () => void {
    return this.#followSystem(fleet, fleet.actor, () => {
      const shards = new Map<number, () => void>();
      const follow = (gateway: Gateway | null, shardId: number) => {
        shards.get(shardId)?.();
        shards.delete(shardId);
        if (gateway) shards.set(shardId, this.attach(gateway));
      };
      for (const shardId of Object.keys(fleet.shards()).map(Number)) {
        const gateway = fleet.gateway(shardId);
        if (gateway) follow(gateway, shardId);
      }
      const stopFollowing = fleet.on('shard', follow);
      return () => {
        stopFollowing();
        for (const stop of shards.values()) stop();
      };
    });
  }

  /**
   * Follows a supervised gateway: the supervisor's actor is the root of the one actor system, and
   * each run's gateway (with its reconnects, socket, drain, heartbeat) appears as its child.
   */
  attachSupervised(supervised: SupervisedGateway): () => void {
    const root = supervised.actor;
    return this.#followSystem(supervised, root, () => supervised.on('state', (change) => this.#timeline.record(root.sessionId, change)));
  }

  /**
   * Follows every actor of the system `root` heads, and whatever `follow` adds (it returns its own
   * removal); the removal of it all is kept for detach().
   */
  #followSystem(target: InspectedTarget, root: AnyActorRef, follow: () => () => void): () => void {
    const existing = this.#detach.get(target);
    if (existing) return existing;
    this.#registry.addRoot(root);
    const inspection = root.system.inspect((event) => this.#registry.observe(event));
    const unfollow = follow();
    const detach = () => {
      if (!this.#detach.delete(target)) return;
      unfollow();
      inspection.unsubscribe();
      this.#registry.removeRoot(root);
    };
    this.#detach.set(target, detach);
    return detach;
  }

  detach(target: InspectedTarget): void {
    this.#detach.get(target)?.();
  }

  detachAll(): void {
    for (const detach of [...this.#detach.values()]) detach();
  }

  /** What a page that connects now needs to catch up. */
  initMessage(): ServerMessage {
    return {
      type: 'lifeline.init',
      at: Date.now(),
      graphs: [...this.#graphs.values()],
      actors: this.#registry.actors,
      log: this.#registry.log,
      recoveries: this.#timeline.recoveries,
      faults: this.faults.map((fault) => ({
        id: this.#redact.text(fault.id),
        label: this.#redact.text(fault.label),
        ...(fault.expect ? { expect: this.#redact.text(fault.expect) } : {}),
      })),
    };
  }

  /** Re-sends what changed for pages already open, e.g. graphs of a newly attached gateway. */
  refresh(): void {
    this.broadcast(this.initMessage());
  }
}

/** What the inspector can follow: a gateway, a fleet of shards, or a supervised gateway. */
export type InspectedTarget = Gateway | ShardManager | SupervisedGateway;

export function isSupervised(target: InspectedTarget): target is SupervisedGateway {
  return 'retry' in target && typeof target.retry === 'function';
}

export function isFleet(target: InspectedTarget): target is ShardManager {
  return 'shards' in target && typeof target.shards === 'function';
}
