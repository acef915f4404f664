import { createGateway, discordProtocol, type Gateway, type GatewayOutput } from '../src/index.ts';
import type { ChaosGateway } from '../src/testing/index.ts';
import { clearStickyFaults } from './faults.ts';
import { describe, dim, stamp } from './output.ts';

/**
 * The demo's client side: the current gateway and what the summary counts across every gateway
 * of the run. A gateway that ended in `failed` (close 4004) can be replaced by a fresh one, which
 * is how the endless demo keeps going after the fault that is meant to be fatal.
 */
export class DemoSession {
  gateway: Gateway;
  gateways = 1;
  delivered = 0;
  outOfOrder = 0;
  mostSocketsOpen = 0;
  #lastDelivered = 0;
  #settleWaiters = new Set<() => void>();
  #stopping = false;

  constructor(
    private readonly server: ChaosGateway,
    private readonly token: string,
  ) {
    this.gateway = this.#create();
  }

  #create(): Gateway {
    const gateway = createGateway({
      url: this.server.url,
      protocol: discordProtocol({ token: this.token, intents: 513 }),
      timeouts: { hello: 500, ready: 500, drain: 300, terminateGrace: 200, stable: 300 },
      backoff: { baseMs: 50, maxMs: 500, invalidSessionMinMs: 150, invalidSessionMaxMs: 400 },
    });
    this.#lastDelivered = 0;
    gateway.on('state', (state) => {
      this.mostSocketsOpen = Math.max(this.mostSocketsOpen, this.server.counters.open);
      console.log(`${stamp()}  ${describe(state)}`);
      if (state.state === 'connecting') clearStickyFaults(this.server);
      // A fresh session numbers its events from 1 again.
      if (state.state === 'ready' && state.handshake === 'identify') this.#lastDelivered = 0;
      if (state.state !== 'connecting' && state.state !== 'closing') {
        for (const wake of this.#settleWaiters) wake();
        this.#settleWaiters.clear();
      }
    });
    gateway.on('error', (error) => console.log(`${stamp()}  ${dim(`error: ${error.message}`)}`));
    gateway.on('dispatch', (event) => {
      if (event.s <= this.#lastDelivered) this.outOfOrder += 1;
      this.#lastDelivered = event.s;
      this.delivered += 1;
    });
    return gateway;
  }

  /** Resolves at the gateway's next ready, failed or stopped state, or after `timeoutMs`. */
  settled(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#settleWaiters.add(done);
    });
  }

  /**
   * Stops the failed gateway and starts a new one, after `beforeStart` (e.g. attaching the
   * inspector, so it sees the new gateway from its first event); resolves at its READY.
   */
  async replace(beforeStart: (gateway: Gateway) => unknown = () => {}): Promise<void> {
    await this.gateway.stop();
    if (this.#stopping) return;
    this.gateway = this.#create();
    this.gateways += 1;
    await beforeStart(this.gateway);
    await this.gateway.start();
  }

  stop(): Promise<GatewayOutput> {
    this.#stopping = true;
    for (const wake of this.#settleWaiters) wake();
    this.#settleWaiters.clear();
    return this.gateway.stop();
  }
}
