import { GatewayCloseCodes } from 'discord-api-types/gateway/v10';

/**
 * The fatal closes (see the recovery table) that one shard hears for the whole fleet: every shard
 * of a manager IDENTIFYs with the same token, the same intents and the same gateway version, so
 * the same refusal awaits each of them, and each IDENTIFY on the way spends the daily budget. On
 * one of these the manager stops every identify of the fleet and fails with that reason.
 *
 * - 4004 authentication failed: the token is invalid (or was reset).
 * - 4012 invalid API version: the `v` every shard connects with.
 * - 4013 invalid intents, 4014 disallowed intents: the intents are the application's, and every
 *   shard sends the same.
 *
 * Not here, because they concern one shard's IDENTIFY rather than what the shards share:
 * - 4010 invalid shard: that shard's `[id, count]`;
 * - 4011 sharding required: that shard would hold too many guilds, which depends on its share of
 *   them; its siblings may well connect. That shard fails alone, and start() rejects.
 */
export const fleetFatalCloseCodes: ReadonlySet<number> = new Set<number>([
  GatewayCloseCodes.AuthenticationFailed,
  GatewayCloseCodes.InvalidAPIVersion,
  GatewayCloseCodes.InvalidIntents,
  GatewayCloseCodes.DisallowedIntents,
]);
