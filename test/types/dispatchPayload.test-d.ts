/**
 * Type-level checks of the dispatch payload, run by `npm run typecheck` (tsc reads every file under
 * test/): an `expectTypeOf` that does not hold, or a `@ts-expect-error` with nothing to expect, fails
 * the typecheck. Nothing here runs.
 */
import { expectTypeOf } from 'vitest';
import { GatewayDispatchEvents, type GatewayGuildCreateDispatchData, type GatewayMessageCreateDispatchData } from 'discord-api-types/v10';
import type { DispatchPayload, Gateway, ShardManager, SupervisedGateway } from '../../src/index.ts';

declare const gateway: Gateway;
declare const supervised: SupervisedGateway;
declare const fleet: ShardManager;

expectTypeOf<DispatchPayload>().not.toBeAny();
expectTypeOf<DispatchPayload['s']>().toEqualTypeOf<number>();

gateway.on('dispatch', (p) => {
  // the wire name, as users write it, narrows as the enum member does
  if (p.t === 'MESSAGE_CREATE') {
    expectTypeOf(p.d).toEqualTypeOf<GatewayMessageCreateDispatchData>();
    expectTypeOf(p.d.content).toEqualTypeOf<string>();
  }
  if (p.t === GatewayDispatchEvents.GuildCreate) expectTypeOf(p.d).toEqualTypeOf<GatewayGuildCreateDispatchData>();
  // @ts-expect-error before `t` is checked, `d` is any of the events and most have no `content`
  void p.d.content;
});

supervised.on('dispatch', (p) => {
  if (p.t === GatewayDispatchEvents.MessageCreate) expectTypeOf(p.d.content).toEqualTypeOf<string>();
  // @ts-expect-error the same union through the supervisor
  void p.d.content;
});

fleet.on('dispatch', (payload, shardId) => {
  expectTypeOf(shardId).toEqualTypeOf<number>();
  if (payload.t === GatewayDispatchEvents.MessageCreate) expectTypeOf(payload.d.content).toEqualTypeOf<string>();
  // @ts-expect-error the same union through the shard manager
  void payload.d.content;
});
