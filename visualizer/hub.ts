import { createGatewayMachine, type Gateway, type ShardManager } from '../src/index.ts';
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
  readonly #detach = new Map<Gateway | ShardManager, () => void>();
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

  /** Lays out every machine the gateway (or the fleet and its shards) can run that is not drawn yet. */
  async draw(target: Gateway | ShardManager): Promise<void> {
    const roots = isFleet(target) ? [target.actor.logic, createGatewayMachine()] : [target.actor.logic];
    const missing = roots.flatMap((root) => collectMachines(root)).filter((machine) => !this.#graphs.has(machine.id));
    const laid = await Promise.all(missing.map((machine) => layoutGraph(machineGraph(machine))));
    for (const graph of laid) this.#graphs.set(graph.id, graph);
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
    const existing = this.#detach.get(fleet);
    if (existing) return existing;
    const root = fleet.actor;
    this.#registry.addRoot(root);
    const inspection = root.system.inspect((event) => this.#registry.observe(event));
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
    const detach = () => {
      if (!this.#detach.delete(fleet)) return;
      stopFollowing();
      inspection.unsubscribe();
      for (const stop of shards.values()) stop();
      this.#registry.removeRoot(root);
    };
    this.#detach.set(fleet, detach);
    return detach;
  }

  detach(target: Gateway | ShardManager): void {
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

export function isFleet(target: Gateway | ShardManager): target is ShardManager {
  return 'shards' in target && typeof target.shards === 'function';
}
