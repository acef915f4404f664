import type { Gateway } from '../src/index.ts';
import type { ChaosGateway } from '../src/testing/index.ts';
import type { Fault } from './faults.ts';
import { bold, dim, stamp } from './output.ts';
import type { DemoSession } from './session.ts';

export interface RunnerOptions {
  /** wait between faults, so that each recovery can be watched */
  pauseMs: number;
  /** replace a gateway that ended in `failed` with a new one (the endless demo) */
  replaceFailed: boolean;
  /** called with each replacement gateway before it starts */
  beforeStart?: (gateway: Gateway) => unknown;
  /**
   * Told when a fault is injected, and when a scripted one has settled (a requested one is
   * settled through the promise request() returned).
   */
  onFault?: (fault: Fault, status: 'started' | 'done') => void;
}

interface Request {
  fault: Fault;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Injects faults one at a time, each after the previous recovery settled: the script's, in turn,
 * and those asked for from the inspector's buttons, which go first. Serialising them keeps every
 * recovery readable on the console and on the page, and keeps one fault from landing inside
 * another's handshake by accident.
 */
export class FaultRunner {
  readonly #requests: Request[] = [];
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(
    private readonly session: DemoSession,
    private readonly server: ChaosGateway,
    private readonly options: RunnerOptions,
  ) {}

  /** Queues a fault; resolves once it was injected and the gateway settled. */
  request(fault: Fault): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('the demo is stopping'));
    return new Promise<void>((resolve, reject) => {
      this.#requests.push({ fault, resolve, reject });
      this.#wake?.();
    });
  }

  /** Runs the script once, or round and round when `loop`, until stop(). */
  async run(script: readonly Fault[], { loop }: { loop: boolean }): Promise<void> {
    let next = 0;
    while (!this.#stopped) {
      const request = this.#requests.shift();
      if (!request && !loop && next >= script.length) break;
      const fault = request?.fault ?? script[next++ % script.length]!;
      try {
        await this.#inject(fault);
        if (!request) this.options.onFault?.(fault, 'done');
        request?.resolve();
      } catch (error) {
        request?.reject(error instanceof Error ? error : new Error(String(error)));
      }
      if (!this.#stopped && this.#requests.length === 0) await this.#pause(this.options.pauseMs);
    }
    this.#stopped = true;
    for (const request of this.#requests.splice(0)) request.reject(new Error('the demo is stopping'));
  }

  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  async #inject(fault: Fault): Promise<void> {
    const { session, server } = this;
    // A button pressed while a replacement gateway is still connecting waits for it.
    if (session.gateway.status !== 'ready') await session.settled();
    if (this.#stopped) return;
    const { status } = session.gateway;
    if (status === 'failed' || status === 'stopped') throw new Error(`the gateway is ${status}: no fault to inject into`);
    console.log(`\n${stamp()}  ${bold(`▶ ${fault.label}`)} ${dim(`(expect: ${fault.expect})`)}`);
    this.options.onFault?.(fault, 'started');
    const gateway = session.gateway;
    const recovered = session.settled();
    await Promise.all([recovered, Promise.resolve(fault.inject(server, gateway)).catch(() => {})]);
    // Some recoveries pass through `ready` on the way (a HELLO stall ladder); let them finish.
    while (gateway.status === 'connecting' && !this.#stopped) await session.settled();
    if (gateway.status === 'failed' && this.options.replaceFailed && !this.#stopped) {
      await this.#pause(this.options.pauseMs);
      if (this.#stopped) return;
      console.log(`\n${stamp()}  ${bold('▶ a new gateway replaces the failed one')}`);
      await session.replace(this.options.beforeStart);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
