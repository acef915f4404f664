/**
 * Type-level checks of the gateway's events, run by `npm run typecheck`: an `expectTypeOf` that
 * does not hold, or a `@ts-expect-error` with nothing to expect, fails the typecheck.
 */
import { expectTypeOf } from 'vitest';
import type {
  CreateSocket,
  Gateway,
  GatewayErrorCode,
  HeartbeatRoundTrip,
  LifelineError,
  OutboxErrorCode,
  SupervisedGateway,
} from '../../src/index.ts';

declare const gateway: Gateway;
declare const supervised: SupervisedGateway;

gateway.on('error', (error) => {
  expectTypeOf(error).toEqualTypeOf<LifelineError>();
  expectTypeOf(error.code).toEqualTypeOf<GatewayErrorCode | OutboxErrorCode | 'PROTOCOL_ERROR'>();
  expectTypeOf(error.message).toEqualTypeOf<string>();
  if (error.code === 'SOCKET_CLOSED' && error.name === 'GatewayError') expectTypeOf(error.closeCode).toEqualTypeOf<number | undefined>();
});
supervised.on('error', (error) => expectTypeOf(error.code).toBeString());

gateway.on('heartbeat', (beat) => expectTypeOf(beat).toEqualTypeOf<HeartbeatRoundTrip>());
gateway.on('debug', (line) => expectTypeOf(line).toEqualTypeOf<string>());
supervised.on('heartbeat', ({ latencyMs, sentAt, ackedAt }) => expectTypeOf([latencyMs, sentAt, ackedAt]).toEqualTypeOf<number[]>());
expectTypeOf(gateway.latency()).toEqualTypeOf<number | null>();
expectTypeOf(supervised.latency()).toEqualTypeOf<number | null>();

// A factory of the URL alone still fits, and so does one that reads the context.
const byUrl: CreateSocket = (url: string) => ({ url }) as unknown as ReturnType<CreateSocket>;
const byShard: CreateSocket = (_url, context) => {
  expectTypeOf(context?.shardId).toEqualTypeOf<number | null | undefined>();
  return byUrl(_url);
};
void byShard;

// @ts-expect-error an event name the gateway does not have
gateway.on('heartbeats', () => {});
