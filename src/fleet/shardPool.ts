import { fromCallback } from 'xstate';
import { messageOf } from '../api/errors.ts';
import type { ShardCleanup, ShardCommand, ShardEvent, ShardInput, ShardSetup } from './shardActor.ts';

export interface ShardOrder {
  shardId: number;
  command: ShardCommand;
}

export type ShardPoolCommand =
  /** make these shards (each makes its gateway; none connects before `start`) */
  | { type: 'spawn'; shards: ShardInput[] }
  /** commands to shards already made, delivered in order */
  | { type: 'tell'; orders: ShardOrder[] };

/**
 * Every shard of a fleet, in one child actor of the manager. Shards as children of their own would
 * cost the manager a copy of its children at each spawn and at each stop (XState keeps them in an
 * immutable record), quadratic in the fleet; here making, telling and ending n shards is linear.
 * A shard that cannot be made is reported failed, and still answers its stop, so one bad shard
 * never takes the fleet down. The manager's statechart decides what each shard is told and when.
 */
export function createShardPool(runShard: (setup: ShardSetup) => ShardCleanup) {
  return fromCallback<ShardPoolCommand, Record<string, never>>(({ sendBack, receive }) => {
    const listeners = new Map<number, (command: ShardCommand) => void>();
    const cleanups: ShardCleanup[] = [];
    const tell = (event: ShardEvent) => sendBack(event);

    const spawn = (input: ShardInput) => {
      const { shardId } = input;
      try {
        cleanups.push(
          runShard({
            input,
            sendBack: tell,
            receive: (listener) => void listeners.set(shardId, listener),
          }),
        );
      } catch (error) {
        const reason = `the shard could not be made: ${messageOf(error)}`;
        tell({ type: 'shard.status', shardId, status: 'failed', handshake: null, reason, closeCode: null });
        listeners.set(shardId, (command) => {
          if (command.type === 'stop') tell({ type: 'shard.stopped', shardId, sessionKept: false });
        });
      }
    };

    receive((command) => {
      if (command.type === 'spawn') for (const input of command.shards) spawn(input);
      else for (const { shardId, command: order } of command.orders) listeners.get(shardId)?.(order);
    });

    return () => {
      for (const cleanup of cleanups) {
        try {
          cleanup();
        } catch {
          // One shard's failing end must not keep the others running.
        }
      }
    };
  });
}
