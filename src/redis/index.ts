/**
 * lifeline-gateway/redis: the identify queue and session store for a fleet spread over several
 * processes and hosts, coordinated through the user's own ioredis client.
 */
export { redisIdentifyQueue } from './redisIdentifyQueue.ts';
export type { RedisIdentifyQueueOptions } from './redisIdentifyQueue.ts';
export { gatewayBotBudget } from './budgetSource.ts';
export type { BudgetSnapshot, BudgetSource } from './budgetSource.ts';
export { redisSessionStore } from './redisSessionStore.ts';
export type { RedisSessionStoreOptions } from './redisSessionStore.ts';
export { CoordinatorTimeoutError } from './commands.ts';
export type { RedisClient } from './commands.ts';
export type { IdentifyNotice, IdentifyQueue, SessionStore, StoredSession } from '../fleet/types.ts';
