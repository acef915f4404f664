import { discordProtocol } from '../protocol/discord/discordProtocol.ts';
import { createGateway, type Gateway, type GatewayOptions, type GatewayStateChange, type GatewayStatus } from '../api/createGateway.ts';
import type { DispatchPayload } from '../types.ts';
import { FleetError } from './fleetError.ts';
import { createSessionRecorder } from './sessionRecorder.ts';
import { abortError, type IdentifyNotice, type IdentifyQueue, type SessionStore, type StoredSession } from './types.ts';
import type { IdentifyTurnHandle } from '../types.ts';
import { defaultTimeouts } from '../core/defaults.ts';

/** What every shard of one manager shares: the options, the queue, the store and the listeners. */
export interface ShardDependencies {
  token: string;
  intents: number;
  /** extra IDENTIFY fields (presence, large_threshold, ...); `shard` is set per shard */
  identify?: Record<string, unknown>;
  gatewayOptions: Omit<GatewayOptions, 'url' | 'protocol' | 'session' | 'beforeIdentify' | 'signal'>;
  queue: IdentifyQueue;
  /** aborts when the fleet begins to stop (or a close refuses it): every identify wait ends, and none begins */
  identifyHalt: AbortSignal;
  store: SessionStore;
  sessionWriteIntervalMs: number;
  /** bounds each store call, so a store that hangs can hold neither a shard nor a stop */
  storeTimeoutMs: number;
  onDispatch(payload: DispatchPayload, shardId: number): void;
  onState(change: GatewayStateChange, shardId: number): void;
  onError(error: Error, shardId: number): void;
  /** the shard's gateway while the shard actor lives, for send() and reconnect() */
  register(shardId: number, gateway: Gateway | undefined): void;
}

export interface ShardInput {
  shardId: number;
  shardCount: number;
  url: string;
  /** a stored session with this shard count: RESUMEd on the first connect */
  session: StoredSession | null;
}

/**
 * `start`: connect. `mayIdentify`: the shard's place in its bucket's start order has come, so an
 * IDENTIFY may ask the queue for its turn; until then it waits (a RESUME never does).
 */
export type ShardCommand = { type: 'start' } | { type: 'mayIdentify' } | { type: 'stop'; keepSession: boolean };

/** Coarse events a shard tells its manager: never one per dispatch. */
export type ShardEvent =
  | {
      type: 'shard.status';
      shardId: number;
      status: GatewayStatus;
      handshake: 'identify' | 'resume' | null;
      reason: string | null;
      /** at `failed`, the close code that ended the gateway, if a close did */
      closeCode: number | null;
    }
  | { type: 'shard.waiting'; shardId: number }
  | { type: 'shard.granted'; shardId: number }
  | { type: 'shard.notice'; shardId: number; code: IdentifyNotice['code']; retryInMs: number }
  | { type: 'shard.stopped'; shardId: number; sessionKept: boolean };

/** Past the connect and HELLO timeouts, for the event loop to deliver the attempt's end. */
const turnHoldSlackMs = 1_000;

/** Resolves when `until` does; rejects with the signal's AbortError when the attempt ends first. */
function unlessAborted(until: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    until.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Rejects with the signal's AbortError once the attempt ends; never resolves. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((_, reject) => {
    if (signal.aborted) reject(abortError(signal));
    else signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
  });
}

/** How the shard pool runs one shard: commands in through `receive`, events out through `sendBack`. */
export interface ShardSetup {
  input: ShardInput;
  sendBack: (event: ShardEvent) => void;
  receive: (listener: (command: ShardCommand) => void) => void;
}

/** One running shard's end, when its manager ends without a stop command. */
export type ShardCleanup = () => void;

/**
 * One shard: it owns its gateway and its session recorder for its whole life. The gateway is made
 * when the shard is made (so payloads can be queued before it connects) and connects on `start`,
 * when the manager gives this shard its place in the start order. IDENTIFY waits for its place in
 * its bucket's order (`mayIdentify`), then for the identify queue; RESUME never waits. Dispatches
 * go from the gateway straight to the fleet's listeners.
 */
export function createShardActor(deps: ShardDependencies) {
  return ({ input, sendBack, receive }: ShardSetup): ShardCleanup => {
    const { shardId, shardCount } = input;
    const report = (error: Error) => deps.onError(error, shardId);
    const recorder = createSessionRecorder({
      store: deps.store,
      shardId,
      shardCount,
      intervalMs: deps.sessionWriteIntervalMs,
      timeoutMs: deps.storeTimeoutMs,
      onError: (error) => report(new FleetError('SESSION_STORE_FAILED', `storing the session failed: ${error.message}`, shardId)),
    });
    const tell = (event: ShardEvent) => sendBack(event);
    // From a grant to its IDENTIFY: the socket opens, then HELLO comes, each under its own timeout.
    const timeouts = { ...defaultTimeouts, ...deps.gatewayOptions.timeouts };
    const turnHoldMs = timeouts.connect + timeouts.hello + turnHoldSlackMs;
    let mayIdentify: () => void = () => {};
    const inOrder = new Promise<void>((resolve) => (mayIdentify = resolve));

    const gateway = createGateway({
      ...deps.gatewayOptions,
      url: input.url,
      protocol: discordProtocol({
        token: deps.token,
        intents: deps.intents,
        identify: { ...deps.identify, shard: [shardId, shardCount] },
      }),
      session: input.session && {
        sessionId: input.session.sessionId,
        sequence: input.session.sequence,
        resumeUrl: input.session.resumeUrl,
      },
      beforeIdentify: async (signal) => {
        await unlessAborted(inOrder, signal);
        // Once the fleet is stopping, an IDENTIFY never goes out: the attempt waits for its stop.
        const halted = () => untilAborted(signal);
        if (deps.identifyHalt.aborted) return halted();
        tell({ type: 'shard.waiting', shardId });
        const wait = new AbortController();
        const abandon = () => wait.abort(signal.aborted ? signal.reason : deps.identifyHalt.reason);
        signal.addEventListener('abort', abandon, { once: true });
        deps.identifyHalt.addEventListener('abort', abandon, { once: true });
        const onNotice = (notice: IdentifyNotice) => {
          const retryInMs = notice.code === 'IDENTIFY_BUDGET_EXHAUSTED' ? notice.retryAfterMs : notice.retryInMs;
          report(FleetError.fromNotice(notice, shardId));
          tell({ type: 'shard.notice', shardId, code: notice.code, retryInMs });
        };
        const { queue } = deps;
        let turn: IdentifyTurnHandle | void;
        try {
          // A queue that can hold its grant measures the bucket's window from the IDENTIFY itself:
          // the turn is taken before the socket opens, and opening it takes a while.
          turn = queue.reserve
            ? await queue.reserve(shardId, { holdMs: turnHoldMs, signal: wait.signal, report: onNotice })
            : await queue.wait(shardId, wait.signal, onNotice);
        } catch (error) {
          if (deps.identifyHalt.aborted) return halted();
          throw error;
        } finally {
          signal.removeEventListener('abort', abandon);
          deps.identifyHalt.removeEventListener('abort', abandon);
        }
        if (deps.identifyHalt.aborted) {
          // Granted as the fleet began to stop: nobody will use the turn, so the bucket gets it back.
          turn?.release();
          return halted();
        }
        tell({ type: 'shard.granted', shardId });
        return turn;
      },
    });
    deps.register(shardId, gateway);

    // Whether the recorder holds the live session, so that a dispatch only moves its sequence.
    let live = false;
    let status: GatewayStatus = 'idle';
    gateway.on('dispatch', (payload) => {
      deps.onDispatch(payload, shardId);
      if (live) recorder.advance(payload.s);
    });
    gateway.on('error', report);
    gateway.on('state', (change) => {
      deps.onState(change, shardId);
      if (change.state === 'ready') {
        const session = gateway.session();
        live = session !== null;
        if (session) recorder.update({ sessionId: session.sessionId, resumeUrl: session.resumeUrl, sequence: session.sequence ?? 0 });
        recorder.flush().catch(() => {}); // a failed write is reported through onError and retried
      } else if (change.state === 'connecting' && change.kind === 'fresh') {
        live = false; // the old session is being given up; the new one is stored at READY
      }
      if (change.state !== status) {
        status = change.state;
        const trigger = change.failure?.trigger;
        tell({
          type: 'shard.status',
          shardId,
          status,
          handshake: change.handshake ?? null,
          reason: change.failure?.message ?? change.reason ?? null,
          closeCode: trigger?.type === 'close' ? trigger.code : null,
        });
      }
    });

    let stopping: Promise<void> | undefined;
    const stop = (keepSession: boolean) =>
      (stopping ??= (async () => {
        await gateway.stop({ keepSession });
        const session = keepSession ? gateway.session() : null;
        try {
          if (session) recorder.update({ sessionId: session.sessionId, resumeUrl: session.resumeUrl, sequence: session.sequence ?? 0 });
          // The close below waits for this same write (the recorder joins them), within one bound.
          else recorder.clear().catch(() => {});
          await recorder.close();
        } catch (error) {
          report(new FleetError('SESSION_STORE_FAILED', `at stop: ${error instanceof Error ? error.message : String(error)}`, shardId));
        }
        tell({ type: 'shard.stopped', shardId, sessionKept: session !== null });
      })());

    receive((command) => {
      if (command.type === 'start')
        gateway.start().catch(() => {}); // the outcome arrives as state events
      else if (command.type === 'mayIdentify') mayIdentify();
      else void stop(command.keepSession);
    });

    // Stopped by its manager without a stop command (the manager's actor was stopped, or failed):
    // end quietly and keep the session, so that no failure can cost the stored sessions.
    return () => {
      deps.register(shardId, undefined);
      if (!stopping) void stop(true);
    };
  };
}
