export { gatewayMachine } from './machines/gatewayMachine.ts';
export type { GatewayContext, GatewayInput, GatewayOutput, GatewayFailure, Session, SessionSnapshot } from './machines/gatewayMachine.ts';
export { createGatewayMachine } from './machines/createGatewayMachine.ts';
export { openConnection, type ConnectionRef } from './connection/connection.ts';
export { createGateway, GatewayError } from './api/createGateway.ts';
export { superviseGateway } from './api/superviseGateway.ts';
export type { SupervisedGateway, SupervisorStateChange, SupervisorStatus } from './api/superviseGateway.ts';
export { supervisorMachine, isFatalFailure } from './machines/supervisorMachine.ts';
export type { SupervisorOptions, SupervisorInput, SupervisorEmitted } from './machines/supervisorMachine.ts';
export { Outbox, OutboxError } from './outbox.ts';
export type { OutboxOptions, OutboxErrorCode } from './outbox.ts';
export type { Gateway, GatewayOptions, GatewayStateChange, GatewayStatus, InspectOption } from './api/createGateway.ts';
export type { GatewayErrorCode, GatewayErrorDetails } from './api/errors.ts';
export { discordProtocol, decodeDiscordFrame } from './protocol/discord/discordProtocol.ts';
export type { DiscordProtocol, DiscordProtocolOptions } from './protocol/discord/discordProtocol.ts';
export { wsSocketFactory, defaultUserAgent } from './adapters/ws.ts';
export type { WsSocketOptions } from './adapters/ws.ts';
export { resolveCompression, zstdAvailable } from './compression/transportCompression.ts';
export type { CompressionOption, StreamCompression } from './compression/transportCompression.ts';
export { decideRecovery, describeTrigger, retryDelayMs, triggerCode } from './core/recovery.ts';
export type { RecoveryPlan, RecoveryTrigger, TriggerCode } from './core/recovery.ts';
export { checkResumeUrl } from './core/resumeUrl.ts';
export { SocketLine, SecondSocketRefused, LineSealed } from './connection/socketLine.ts';
export { drainMachine } from './machines/drainMachine.ts';
export { freshReconnectMachine } from './machines/freshReconnectMachine.ts';
export { resumeReconnectMachine } from './machines/resumeReconnectMachine.ts';
export { createSocketActor, GatewayProtocolError } from './actors/socket.ts';
export { SocketState } from './types.ts';
export {
  defaultTimeouts,
  defaultBackoff,
  defaultOutboxOptions,
  defaultSupervisorOptions,
  defaultCompression,
  defaultMaxPayload,
} from './core/defaults.ts';
export type {
  BackoffOptions,
  CreateSocket,
  DispatchPayload,
  GatewayProtocol,
  IdentifyTurnHandle,
  InboundFrame,
  Timeouts,
  WebSocketLike,
} from './types.ts';
export type { SocketContext } from './types.ts';
export type { LifelineError, HeartbeatRoundTrip } from './api/createGateway.ts';
export type { IdentifyQueue, IdentifyNotice, SessionStore, StoredSession } from './fleet/types.ts';
export { IdentifyQueueClosedError } from './fleet/types.ts';
export { identifyQueueMachine, identifyQueueStatus, selectGrants } from './fleet/identifyQueueMachine.ts';
export type {
  IdentifyQueueInput,
  IdentifyQueueContext,
  IdentifyQueueEvent,
  IdentifyQueueEmitted,
  IdentifyQueueStatus,
  IdentifyWaiter,
  CoolingBucket,
} from './fleet/identifyQueueMachine.ts';
export { memoryIdentifyQueue, identifyQueueOverActor, identifyQueueInput } from './fleet/memoryIdentifyQueue.ts';
export type { MemoryIdentifyQueue, MemoryIdentifyQueueOptions, QueueClock } from './fleet/memoryIdentifyQueue.ts';
export { memorySessionStore } from './fleet/memorySessionStore.ts';
export { fileSessionStore } from './fleet/fileSessionStore.ts';
export { createSessionRecorder } from './fleet/sessionRecorder.ts';
export type { SessionRecorder, SessionRecorderOptions, RecordedSession } from './fleet/sessionRecorder.ts';
export { parseStoredSession } from './fleet/storedSession.ts';
export { createShardManager, identifyWindowMargin, minIdentifyWindowMarginMs } from './fleet/createShardManager.ts';
export type { ShardManager, ShardManagerOptions } from './fleet/createShardManager.ts';
export { shardManagerMachine, shardsToLaunch } from './fleet/shardManagerMachine.ts';
export type { FleetLayout, ShardManagerContext, ShardManagerOutput, ShardView } from './fleet/shardManagerMachine.ts';
export { fetchGatewayBot, checkGatewayBotInfo, discordApiBase } from './fleet/gatewayBot.ts';
export type { FetchGatewayBotOptions, GatewayBotInfo } from './fleet/gatewayBot.ts';
export { FleetError } from './fleet/fleetError.ts';
export type { FleetErrorCode } from './fleet/fleetError.ts';
