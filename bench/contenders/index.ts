import { startDiscordJsFleet } from './discordjs.ts';
import type { ContenderName, StartFleet } from './fleet.ts';
import { startLifelineFleet } from './lifeline.ts';
import { startRawWsFleet } from './rawWs.ts';

export { contenderNames, type ContenderName } from './fleet.ts';

export const startFleet: Record<ContenderName, StartFleet> = {
  'raw ws': startRawWsFleet,
  lifeline: startLifelineFleet,
  '@discordjs/ws': startDiscordJsFleet,
};
