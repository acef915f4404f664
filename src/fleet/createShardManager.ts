import { createActor, fromPromise } from 'xstate';
import { discordProtocol } from '../protocol/discord/discordProtocol.ts';
import type { Gateway, GatewayOptions, GatewayStateChange, SessionSnapshot } from '../api/createGateway.ts';
import { validateOptions } from '../api/options.ts';
import { GatewayError, observed } from '../api/errors.ts';
import { Listeners } from '../api/listeners.ts';
import type { DispatchPayload } from '../types.ts';
import { FleetError } from './fleetError.ts';
import { checkGatewayBotInfo, fetchGatewayBot, type GatewayBotInfo } from './gatewayBot.ts';
import { memoryIdentifyQueue } from './memoryIdentifyQueue.ts';
import { memorySessionStore } from './memorySessionStore.ts';
import { createShardActor, type ShardDependencies } from './shardActor.ts';
import { shardManagerMachine, type FleetLayout, type ShardManagerOutput, type ShardView } from './shardManagerMachine.ts';
import type { IdentifyQueue, SessionStore, StoredSession } from './types.ts';
import { validateShardManagerOptions } from './validateShardManagerOptions.ts';
import { paddedIdentifyWindowMs } from '../core/identifyWindow.ts';
import { defaultSessionStoreTimeoutMs } from '../core/defaults.ts';
import { optionChecker } from '../core/validation.ts';
import { boundedStoreCall, parseStoredSession, sessionStoreTtlMs } from './storedSession.ts';

export interface ShardManagerOptions extends Omit<GatewayOptions, 'url' | 'protocol' | 'session' | 'beforeIdentify'> {
  token: string;
  /** the gateway intents, e.g. `GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages` */
  intents: number;
  /** a number, or `'auto'` for the count GET /gateway/bot recommends */
  shardCount: number | 'auto';
  /** the shards this process runs (default: all); the rest of the fleet runs elsewhere */
  shardIds?: readonly number[];
  /** the gateway URL; default: the one GET /gateway/bot names */
  url?: string;
  /** default: `fetchGatewayBot({ token })`, asked when the count, the URL or the budget is needed */
  gatewayInfo?: () => Promise<GatewayBotInfo>;
  /** default: `memoryIdentifyQueue` from GET /gateway/bot's `session_start_limit` */
  identifyQueue?: IdentifyQueue;
  /** default: `memorySessionStore()` */
  sessionStore?: SessionStore;
  /** extra IDENTIFY fields (presence, large_threshold, ...) */
  identify?: Record<string, unknown>;
  /** the default identify queue's bucket window (default 5000 ms, Discord's) */
  identifyWindowMs?: number;
  /** sessions are written at most once per this many ms while events flow (default 1000) */
  sessionWriteIntervalMs?: number;
  /** the longest wait for one session store call (the read at start, each write); past it the call is reported and the shard goes on without it (default 10 s) */
  sessionStoreTimeoutMs?: number;
}

export interface ShardManager {
  on(event: 'dispatch', listener: (payload: DispatchPayload, shardId: number) => void): () => void;
  on(event: 'state', listener: (change: GatewayStateChange, shardId: number) => void): () => void;
  on(event: 'error', listener: (error: Error, shardId: number | null) => void): () => void;
  /** a shard's gateway was made (or, with null, has ended), e.g. to inspect it */
  on(event: 'shard', listener: (gateway: Gateway | null, shardId: number) => void): () => void;
  /** resolves when every shard is READY or RESUMED; rejects if the fleet cannot start or a shard fails first */
  start(): Promise<void>;
  /** the shard a guild's events come on: `(guild_id >> 22) % shardCount` */
  shardFor(guildId: string | bigint): number;
  send(shardId: number, payload: unknown): Promise<void>;
  reconnect(shardId: number, options?: { fresh?: boolean }): Promise<void>;
  /**
   * Stops every shard (within drain + terminateGrace). `keepSessions`: close with 4000 and store
   * every session, so the next start RESUMEs them all; otherwise close with 1000 and forget them.
   */
  stop(options?: { keepSessions?: boolean }): Promise<ShardManagerOutput>;
  /** a shard's gateway while the shard runs */
  gateway(shardId: number): Gateway | undefined;
  /** a shard's session as plain data (see `gateway.session()`), or null */
  session(shardId: number): SessionSnapshot | null;
  /** every shard's state, as the manager's statechart has it */
  shards(): Record<string, ShardView>;
  /** the shard count, once known (after start() for `'auto'`) */
  readonly shardCount: number | null;
  readonly actor: ReturnType<typeof createActor<typeof shardManagerMachine>>;
}

type FleetEvents = { dispatch: DispatchPayload; state: GatewayStateChange; error: Error; shard: Gateway | null };

export { identifyWindowMargin, minIdentifyWindowMarginMs } from '../core/identifyWindow.ts';

/** `wss://host` from GET /gateway/bot, with the version and encoding this package speaks. */
function gatewayUrl(base: string): string {
  const url = new URL(base);
  url.searchParams.set('v', '10');
  url.searchParams.set('encoding', 'json');
  return url.toString();
}

function everyShardReady(shards: Record<string, ShardView>): boolean {
  const all = Object.values(shards);
  return all.length > 0 && all.every((shard) => shard.status === 'ready');
}

/**
 * Runs a fleet of shards in this process: learns the layout, resumes stored sessions, identifies
 * the rest through the identify queue in Discord's order, and keeps each shard's session stored.
 */
export function createShardManager(options: ShardManagerOptions): ShardManager {
  validateShardManagerOptions(options);
  const listeners = new Listeners<FleetEvents, number>(['dispatch', 'state', 'error', 'shard']);
  const fleetErrors = new Listeners<{ error: Error }, null>(['error']);
  const gateways = new Map<number, Gateway>();
  const store = options.sessionStore ?? memorySessionStore();
  sessionStoreTtlMs(store, 'createShardManager');
  const storeTimeoutMs = optionChecker('createShardManager').duration(
    'sessionStoreTimeoutMs',
    options.sessionStoreTimeoutMs ?? defaultSessionStoreTimeoutMs,
    { min: 1 },
  );
  let ownQueue: ReturnType<typeof memoryIdentifyQueue> | undefined;
  let queue: IdentifyQueue | undefined = options.identifyQueue;

  const {
    token,
    intents,
    shardCount: _count,
    shardIds: _ids,
    url: _url,
    gatewayInfo: _info,
    identifyQueue: _queue,
    sessionStore: _store,
    identify,
    identifyWindowMs = 5000,
    sessionWriteIntervalMs = 1000,
    sessionStoreTimeoutMs: _storeTimeout,
    signal,
    ...gatewayOptions
  } = options;

  // The options every shard's gateway gets, checked here so that no shard can fail on them later.
  validateOptions({ ...gatewayOptions, url: options.url ?? 'wss://gateway.discord.gg', protocol: discordProtocol({ token, intents }) });

  const deps: ShardDependencies = {
    token,
    intents,
    ...(identify ? { identify } : {}),
    gatewayOptions,
    // Set once the layout is known, before any shard exists.
    get queue(): IdentifyQueue {
      if (!queue) throw new Error('the identify queue is not ready');
      return queue;
    },
    store,
    sessionWriteIntervalMs,
    storeTimeoutMs,
    onDispatch: (payload, shardId) => listeners.emit('dispatch', payload, shardId),
    onState: (change, shardId) => listeners.emit('state', change, shardId),
    onError: (error, shardId) => listeners.emit('error', error, shardId),
    register: (shardId, gateway) => {
      if (gateway) gateways.set(shardId, gateway);
      else gateways.delete(shardId);
      listeners.emit('shard', gateway ?? null, shardId);
    },
  };

  const resolveLayout = async ({ shardIds }: { shardIds: number[] | null }): Promise<FleetLayout> => {
    const needsInfo = options.shardCount === 'auto' || options.url === undefined || options.identifyQueue === undefined;
    let info: GatewayBotInfo | undefined;
    // Discord read the budget somewhere between the request and its answer: the queue's reset is that uncertain.
    const requestedAt = performance.now();
    if (needsInfo) {
      try {
        info = checkGatewayBotInfo(await (options.gatewayInfo ?? (() => fetchGatewayBot({ token })))());
      } catch (error) {
        const failure = new FleetError('GATEWAY_INFO_FAILED', error instanceof Error ? error.message : String(error), null);
        fleetErrors.emit('error', failure, null);
        throw failure;
      }
    }
    const shardCount = options.shardCount === 'auto' ? info!.shards : options.shardCount;
    const ids = shardIds ?? Array.from({ length: shardCount }, (_, id) => id);
    const outside = ids.filter((id) => id >= shardCount);
    if (outside.length > 0) throw new RangeError(`shardIds ${outside.join(', ')} are not below the shard count ${shardCount}`);
    const maxConcurrency = info?.session_start_limit.max_concurrency ?? 1;
    if (!queue) {
      const limit = info!.session_start_limit;
      ownQueue = memoryIdentifyQueue({
        maxConcurrency,
        windowMs: paddedIdentifyWindowMs(identifyWindowMs),
        budget: {
          remaining: limit.remaining,
          resetAfterMs: limit.reset_after,
          total: limit.total,
          // Measured up to the queue's own start (its clock is this one), rounded up so that it covers it.
          readLatencyMs: Math.ceil(performance.now() - requestedAt),
        },
      });
      queue = ownQueue;
    }
    return { shardCount, shardIds: ids, url: options.url ?? gatewayUrl(info!.url), maxConcurrency };
  };

  /**
   * Every shard's stored session, each read bounded in time and checked as untrusted data: a read
   * that fails, hangs or returns something that is not a whole session is reported for that shard
   * alone, which then IDENTIFYs; no other shard's session is touched.
   */
  const loadSessions = async (layout: FleetLayout): Promise<Record<string, StoredSession>> => {
    const found: Record<string, StoredSession> = {};
    const report = (shardId: number, problem: string) =>
      listeners.emit('error', new FleetError('SESSION_STORE_FAILED', `${problem}; this shard identifies`, shardId), shardId);
    await Promise.all(
      layout.shardIds.map(async (shardId) => {
        let stored: unknown;
        try {
          stored = await boundedStoreCall(() => store.get(shardId), storeTimeoutMs, `reading the session of shard ${shardId}`);
        } catch (error) {
          report(shardId, `reading the stored session failed: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        if (stored === null || stored === undefined) return;
        let session: StoredSession | null;
        try {
          session = parseStoredSession(stored);
        } catch {
          session = null; // a getter that throws: as unusable as a missing field
        }
        if (!session) {
          report(shardId, 'the stored session is malformed (it needs a sessionId, a sequence ≥ 0, a resumeUrl and a shardCount)');
          return;
        }
        // A session made under another shard count cannot be resumed: that shard IDENTIFYs.
        if (session.shardCount === layout.shardCount) found[shardId] = session;
      }),
    );
    return found;
  };

  const actor = createActor(
    shardManagerMachine.provide({
      actors: {
        resolveLayout: fromPromise(({ input }) => resolveLayout(input)),
        loadSessions: fromPromise(({ input }) => loadSessions(input)),
        shard: createShardActor(deps),
      },
    }),
    { input: options.shardIds ? { shardIds: options.shardIds } : {}, ...(options.inspect ? { inspect: options.inspect as never } : {}) },
  );

  let ended: ShardManagerOutput | undefined;
  let resolveEnded: (output: ShardManagerOutput) => void = () => {};
  const endedPromise = new Promise<ShardManagerOutput>((resolve) => (resolveEnded = resolve));
  const readyWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>();

  const settleWaiters = () => {
    // Every shard event makes a snapshot; with nobody waiting for start() there is nothing to look at.
    if (readyWaiters.size === 0) return;
    const snapshot = actor.getSnapshot();
    const shards = snapshot.context.shards;
    const failedShard = Object.entries(shards).find(([, shard]) => shard.status === 'failed');
    for (const waiter of readyWaiters) {
      if (snapshot.status === 'done') {
        const output = snapshot.output;
        waiter.reject(
          output?.status === 'failed'
            ? new GatewayError('FAILED', output.reason)
            : new GatewayError('STOPPED', 'the fleet was stopped before every shard was ready'),
        );
      } else if (failedShard) {
        waiter.reject(new GatewayError('FAILED', `shard ${failedShard[0]} failed: ${failedShard[1].reason ?? 'unknown reason'}`));
      } else if (snapshot.value === 'running' && everyShardReady(shards)) {
        waiter.resolve();
      } else continue;
      readyWaiters.delete(waiter);
    }
  };

  actor.subscribe({
    next: (snapshot) => {
      settleWaiters();
      if (snapshot.status === 'done' && !ended) {
        ended = snapshot.output ?? { status: 'stopped' };
        ownQueue?.close();
        signal?.removeEventListener('abort', onAbort);
        resolveEnded(ended);
      }
    },
    error: (error) => {
      const message = `the shard manager failed: ${error instanceof Error ? error.message : String(error)}`;
      fleetErrors.emit('error', new GatewayError('ACTOR_FAILED', message), null);
      ended = { status: 'failed', reason: message };
      ownQueue?.close();
      resolveEnded(ended);
      for (const waiter of readyWaiters) waiter.reject(new GatewayError('FAILED', message));
      readyWaiters.clear();
    },
  });

  const onAbort = () => void fleet.stop();
  const unknownShard = (shardId: number) =>
    observed(Promise.reject(new FleetError('UNKNOWN_SHARD', `this manager runs no shard ${shardId}`, shardId)));

  const fleet: ShardManager = {
    on: ((event: keyof FleetEvents, listener: (value: never, shardId: number | null) => void) => {
      // Errors about the whole fleet (no shard) go to the same `error` listeners, with a null shard id.
      if (event === 'error') {
        const offFleet = fleetErrors.on('error', listener as (error: Error, shardId: null) => void);
        const offShards = listeners.on('error', listener as (error: Error, shardId: number) => void);
        return () => {
          offFleet();
          offShards();
        };
      }
      return listeners.on(event, listener as (value: FleetEvents[typeof event], shardId: number) => void);
    }) as ShardManager['on'],
    start() {
      const snapshot = actor.getSnapshot();
      if (snapshot.status === 'done') return observed(Promise.reject(new GatewayError('STOPPED', 'the fleet is stopped')));
      const ready = new Promise<void>((resolve, reject) => readyWaiters.add({ resolve, reject }));
      if (snapshot.value === 'idle') actor.send({ type: 'start' });
      settleWaiters();
      return observed(ready);
    },
    shardFor(guildId) {
      const count = fleet.shardCount;
      if (count === null) throw new Error('shardFor(): the shard count is not known before start() resolves it');
      const notSnowflake = () =>
        new TypeError(`shardFor(): ${JSON.stringify(String(guildId))} is not a snowflake (a whole number from 0 to 2^64-1)`);
      // BigInt() also takes '', '-5', '0x10' and ' 7 '; a snowflake is plain decimal digits.
      if (typeof guildId !== 'bigint' && !/^\d+$/.test(String(guildId))) throw notSnowflake();
      let id: bigint;
      try {
        id = BigInt(guildId);
      } catch {
        throw notSnowflake();
      }
      if (id < 0n || id > 0xffff_ffff_ffff_ffffn) throw notSnowflake();
      return Number((id >> 22n) % BigInt(count));
    },
    send(shardId, payload) {
      const gateway = gateways.get(shardId);
      return gateway ? gateway.send(payload) : unknownShard(shardId);
    },
    reconnect(shardId, request) {
      const gateway = gateways.get(shardId);
      return gateway ? gateway.reconnect(request) : unknownShard(shardId);
    },
    stop(request = {}) {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'stop', keepSessions: request.keepSessions === true });
      return endedPromise;
    },
    gateway(shardId) {
      return gateways.get(shardId);
    },
    session(shardId) {
      return gateways.get(shardId)?.session() ?? null;
    },
    shards() {
      return actor.getSnapshot().context.shards;
    },
    get shardCount() {
      return options.shardCount === 'auto' ? (actor.getSnapshot().context.layout?.shardCount ?? null) : options.shardCount;
    },
    actor,
  };

  actor.start();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  return fleet;
}
