export { gatewayMachine } from './machines/gateway.ts';
export type { GatewayContext, GatewayInput, GatewayOutput, GatewayFailure, Session } from './machines/gateway.ts';
export { createGatewayMachine } from './machines/createGatewayMachine.ts';
export { createGateway, GatewayError } from './createGateway.ts';
export { superviseGateway } from './superviseGateway.ts';
export type { SupervisedGateway, SupervisorStateChange, SupervisorStatus } from './superviseGateway.ts';
export { supervisorMachine, defaultSupervisorOptions, isFatalFailure } from './machines/supervisor.ts';
export type { SupervisorOptions } from './machines/supervisor.ts';
export { Outbox, OutboxError, defaultOutboxOptions } from './outbox.ts';
export type { OutboxOptions, OutboxErrorCode } from './outbox.ts';
export type { Gateway, GatewayOptions, GatewayStateChange, GatewayStatus, InspectOption } from './createGateway.ts';
export type { GatewayErrorCode, GatewayErrorDetails } from './gateway/errors.ts';
export { discordProtocol, decodeDiscordFrame } from './adapters/discord.ts';
export type { DiscordProtocol, DiscordProtocolOptions } from './adapters/discord.ts';
export { wsSocketFactory, defaultMaxPayload } from './adapters/ws.ts';
export { decideRecovery, describeTrigger, retryDelayMs, triggerCode } from './machines/recovery.ts';
export type { RecoveryPlan, RecoveryTrigger, TriggerCode } from './machines/recovery.ts';
export { checkResumeUrl } from './machines/resumeUrl.ts';
export { SocketLine, SecondSocketRefused, LineSealed } from './machines/socketLine.ts';
export { drainMachine } from './actors/drain.ts';
export { freshReconnectMachine } from './actors/freshReconnect.ts';
export { resumeReconnectMachine } from './actors/resumeReconnect.ts';
export { heartbeatMachine } from './actors/heartbeat.ts';
export { createSocketActor, GatewayProtocolError, SocketCreateError } from './actors/socket.ts';
export { defaultTimeouts, defaultBackoff, SocketState } from './types.ts';
export type {
  BackoffOptions,
  CreateSocket,
  DispatchPayload,
  GatewayProtocol,
  InboundFrame,
  Timeouts,
  WebSocketLike,
} from './types.ts';
