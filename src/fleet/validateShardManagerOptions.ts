import { gatewayOptionKeys } from '../api/options.ts';
import type { GatewayOptions } from '../api/createGateway.ts';
import { maxIdentifyWindowMs } from '../core/identifyWindow.ts';
import { optionChecker } from '../core/validation.ts';
import type { ShardManagerOptions } from './createShardManager.ts';
import { maxShardCount } from './gatewayBot.ts';

/** The options of the fleet that createGateway does not have, checked by the compiler to be exactly those. */
const fleetOnlyKeys = Object.keys({
  token: true,
  intents: true,
  shardCount: true,
  shardIds: true,
  gatewayInfo: true,
  identifyQueue: true,
  sessionStore: true,
  identify: true,
  identifyWindowMs: true,
  sessionWriteIntervalMs: true,
  sessionStoreTimeoutMs: true,
} satisfies Record<Exclude<keyof ShardManagerOptions, keyof GatewayOptions>, true>);

/** The gateway options the manager sets per shard itself, so a user may not. */
const perShardKeys: readonly string[] = Object.keys({
  protocol: true,
  session: true,
  beforeIdentify: true,
} satisfies Record<Exclude<keyof GatewayOptions, keyof ShardManagerOptions>, true>);

const shardManagerKeys: readonly string[] = [...gatewayOptionKeys.filter((key) => !perShardKeys.includes(key)), ...fleetOnlyKeys];

/**
 * Rejects bad fleet options at once, naming the option, before anything starts. The options it
 * shares with createGateway are checked by createGateway's own rules for the first shard, before
 * anything connects.
 */
export function validateShardManagerOptions(options: ShardManagerOptions): void {
  const check = optionChecker('createShardManager');
  if (typeof options !== 'object' || options === null) check.fail('options must be an object');
  check.knownKeys(null, options, shardManagerKeys);
  if (typeof options.token !== 'string' || options.token.trim() === '') check.fail('token must be a non-empty string');
  check.count('intents', options.intents, 0);
  const { shardCount, shardIds } = options;
  if (shardCount !== 'auto') {
    if (typeof shardCount !== 'number' || !Number.isSafeInteger(shardCount) || shardCount < 1 || shardCount > maxShardCount) {
      check.fail(`shardCount must be 'auto' or a whole number from 1 to ${maxShardCount}, got ${String(shardCount)}`);
    }
  }
  if (shardIds !== undefined) {
    if (!Array.isArray(shardIds) || shardIds.length === 0) check.fail('shardIds must be a non-empty array of shard ids');
    const seen = new Set<number>();
    // Array.isArray widens the checked array to any[]; its items are still unchecked input.
    for (const item of shardIds as readonly unknown[]) {
      const id = check.count('shardIds[]', item, 0);
      if (seen.has(id)) check.fail(`shardIds names shard ${id} twice`);
      if (typeof shardCount === 'number' && id >= shardCount) check.fail(`shardIds: shard ${id} is not below shardCount ${shardCount}`);
      seen.add(id);
    }
  }
  if (options.url !== undefined && !/^wss?:\/\//.test(String(options.url)))
    check.fail(`url must be a ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
  // The manager listens to it from the start; anything else would fail only once the fleet runs.
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) check.fail('signal must be an AbortSignal');
  if (options.gatewayInfo !== undefined && typeof options.gatewayInfo !== 'function')
    check.fail('gatewayInfo must be a function () => Promise<GatewayBotInfo>');
  if (options.identifyQueue !== undefined && typeof options.identifyQueue?.wait !== 'function')
    check.fail('identifyQueue must have a wait(shardId, signal) method');
  const store = options.sessionStore;
  if (store !== undefined && (typeof store?.get !== 'function' || typeof store?.set !== 'function'))
    check.fail('sessionStore must have get and set methods');
  if (
    options.identify !== undefined &&
    (typeof options.identify !== 'object' || options.identify === null || Array.isArray(options.identify))
  )
    check.fail('identify must be an object of extra IDENTIFY fields');
  // The queue pads the window by its margin, so the window itself must leave room for it in one timer.
  if (options.identifyWindowMs !== undefined) check.duration('identifyWindowMs', options.identifyWindowMs, { max: maxIdentifyWindowMs });
  if (options.sessionWriteIntervalMs !== undefined) check.duration('sessionWriteIntervalMs', options.sessionWriteIntervalMs);
}
