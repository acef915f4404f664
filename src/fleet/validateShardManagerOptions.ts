import { maxIdentifyWindowMs } from '../core/identifyWindow.ts';
import { maxTimerMs } from '../core/validation.ts';
import type { ShardManagerOptions } from './createShardManager.ts';

function fail(message: string): never {
  throw new TypeError(`createShardManager: ${message}`);
}

const isCount = (value: unknown, min: number): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/**
 * Rejects bad fleet options at once, naming the option. The options it shares with createGateway
 * are checked by createGateway for the first shard, before anything connects.
 */
export function validateShardManagerOptions(options: ShardManagerOptions): void {
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  if (typeof options.token !== 'string' || options.token.trim() === '') fail('token must be a non-empty string');
  if (!isCount(options.intents, 0)) fail(`intents must be a whole number ≥ 0, got ${String(options.intents)}`);
  const { shardCount, shardIds } = options;
  if (shardCount !== 'auto' && !isCount(shardCount, 1)) fail(`shardCount must be 'auto' or a whole number ≥ 1, got ${String(shardCount)}`);
  if (shardIds !== undefined) {
    if (!Array.isArray(shardIds) || shardIds.length === 0) fail('shardIds must be a non-empty array of shard ids');
    const seen = new Set<number>();
    // Array.isArray widens the checked array to any[]; its items are still unchecked input.
    for (const id of shardIds as readonly unknown[]) {
      if (!isCount(id, 0)) fail(`shardIds must hold whole numbers ≥ 0, got ${String(id)}`);
      if (seen.has(id)) fail(`shardIds names shard ${id} twice`);
      if (typeof shardCount === 'number' && id >= shardCount) fail(`shardIds: shard ${id} is not below shardCount ${shardCount}`);
      seen.add(id);
    }
  }
  if (options.url !== undefined && !/^wss?:\/\//.test(String(options.url)))
    fail(`url must be a ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
  if (options.gatewayInfo !== undefined && typeof options.gatewayInfo !== 'function')
    fail('gatewayInfo must be a function () => Promise<GatewayBotInfo>');
  if (options.identifyQueue !== undefined && typeof options.identifyQueue?.wait !== 'function')
    fail('identifyQueue must have a wait(shardId, signal) method');
  const store = options.sessionStore;
  if (store !== undefined && (typeof store?.get !== 'function' || typeof store?.set !== 'function'))
    fail('sessionStore must have get and set methods');
  // The queue pads the window by its margin, so the window itself must leave room for it in one timer.
  const limits = { identifyWindowMs: maxIdentifyWindowMs, sessionWriteIntervalMs: maxTimerMs };
  for (const [name, max] of Object.entries(limits) as [keyof typeof limits, number][]) {
    const value = options[name];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max)) {
      fail(`${name} must be a number of ms between 0 and ${max}, got ${String(value)}`);
    }
  }
}
