import { startDiscordJsFleet } from './discordjs.ts';
import type { AnyContenderName, StartFleet } from './fleet.ts';
import { startLifelineFleet } from './lifeline.ts';
import { startLifelineShardsFleet } from './lifelineShards.ts';
import { startRawWsFleet } from './rawWs.ts';

export {
  allContenderNames,
  contenderNames,
  shardContenderNames,
  type AnyContenderName,
  type ContenderName,
  type ShardContenderName,
} from './fleet.ts';

export const startFleet: Record<AnyContenderName, StartFleet> = {
  'raw ws': startRawWsFleet,
  lifeline: startLifelineFleet,
  '@discordjs/ws': startDiscordJsFleet,
  'lifeline shards': startLifelineShardsFleet,
};
