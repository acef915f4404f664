export { startChaosGateway } from './chaosGateway.ts';
export type {
  ChaosCounters,
  ChaosEventInfo,
  ChaosEventName,
  ChaosGateway,
  ChaosGatewayOptions,
  ChaosListener,
  ReceivedFrame,
} from './chaosGateway.ts';
export type { GatewayFrame } from './protocol.ts';
export { IdentifyRules, shardOfGuild } from './identifyRules.ts';
export type { FleetRulesOptions, IdentifyViolation, ViolationKind } from './identifyRules.ts';
export { createStreamCompressor } from './streamCompression.ts';
export type { StreamCompressor } from './streamCompression.ts';
export { defaultSessionStartLimit } from './gatewayBotApi.ts';
export type { GatewayBotOptions, SessionStartLimit } from './gatewayBotApi.ts';
