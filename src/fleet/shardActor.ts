import { fromCallback } from 'xstate';
import { discordProtocol } from '../protocol/discord/discordProtocol.ts';
import { createGateway, type Gateway, type GatewayOptions, type GatewayStateChange, type GatewayStatus } from '../api/createGateway.ts';
import type { DispatchPayload } from '../types.ts';
import { FleetError } from './fleetError.ts';
import { createSessionRecorder } from './sessionRecorder.ts';
import type { IdentifyNotice, IdentifyQueue, SessionStore, StoredSession } from './types.ts';
import { defaultTimeouts } from '../core/defaults.ts';

/** What every shard of one manager shares: the options, the queue, the store and the listeners. */
export interface ShardDependencies {
  token: string;
  intents: number;
  /** extra IDENTIFY fields (presence, large_threshold, ...); `shard` is set per shard */
  identify?: Record<string, unknown>;
  gatewayOptions: Omit<GatewayOptions, 'url' | 'protocol' | 'session' | 'beforeIdentify' | 'signal'>;
  queue: IdentifyQueue;
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

export type ShardCommand = { type: 'start' } | { type: 'stop'; keepSession: boolean };

/** Coarse events a shard tells its manager: never one per dispatch. */
export type ShardEvent =
  | { type: 'shard.status'; shardId: number; status: GatewayStatus; handshake: 'identify' | 'resume' | null; reason: string | null }
  | { type: 'shard.waiting'; shardId: number }
  | { type: 'shard.granted'; shardId: number }
  | { type: 'shard.notice'; shardId: number; code: IdentifyNotice['code']; retryInMs: number }
  | { type: 'shard.stopped'; shardId: number; sessionKept: boolean };

/** Past the connect and HELLO timeouts, for the event loop to deliver the attempt's end. */
const turnHoldSlackMs = 1_000;

/**
 * One shard: it owns its gateway and its session recorder for its whole life. The gateway is made
 * when the actor starts (so payloads can be queued before it connects) and connects on `start`,
 * when the manager gives this shard its place in the start order. IDENTIFY waits for the identify
 * queue; RESUME never does. Dispatches go from the gateway straight to the fleet's listeners.
 */
export function createShardActor(deps: ShardDependencies) {
  return fromCallback<ShardCommand, ShardInput>(({ input, sendBack, receive }) => {
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
        tell({ type: 'shard.waiting', shardId });
        const onNotice = (notice: IdentifyNotice) => {
          const retryInMs = notice.code === 'IDENTIFY_BUDGET_EXHAUSTED' ? notice.retryAfterMs : notice.retryInMs;
          report(FleetError.fromNotice(notice, shardId));
          tell({ type: 'shard.notice', shardId, code: notice.code, retryInMs });
        };
        const { queue } = deps;
        // A queue that can hold its grant measures the bucket's window from the IDENTIFY itself:
        // the turn is taken before the socket opens, and opening it takes a while.
        const turn = queue.reserve
          ? await queue.reserve(shardId, { holdMs: turnHoldMs, signal, report: onNotice })
          : await queue.wait(shardId, signal, onNotice);
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
        tell({
          type: 'shard.status',
          shardId,
          status,
          handshake: change.handshake ?? null,
          reason: change.failure?.message ?? change.reason ?? null,
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
      else void stop(command.keepSession);
    });

    // Stopped by its manager without a stop command (the manager's actor was stopped, or failed):
    // end quietly and keep the session, so that no failure can cost the stored sessions.
    return () => {
      deps.register(shardId, undefined);
      if (!stopping) void stop(true);
    };
  });
}
