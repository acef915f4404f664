/**
 * The soak's chaos gateway, in its own process so that its memory (replay buffers, the log of
 * received frames) never counts in the client's heap figures. Driven over IPC by scripts/soak.ts.
 */
import { startChaosGateway } from '../src/testing/index.ts';

export type SoakCommand =
  | { cmd: 'kill' }
  | { cmd: 'startStream'; perSecond: number }
  | { cmd: 'stopStream' }
  | { cmd: 'replayOverlap'; events: number }
  | { cmd: 'stats'; sessionId: string }
  | { cmd: 'endSession'; sessionId: string }
  | { cmd: 'counters' }
  | { cmd: 'close' };

export type SoakRequest = SoakCommand & { id: number };
export type SoakReply = { id: number; result: unknown } | { type: 'listening'; url: string };

const server = await startChaosGateway({ heartbeatInterval: 5_000, token: process.env.SOAK_TOKEN });

function handle(command: SoakCommand): unknown {
  switch (command.cmd) {
    case 'kill':
      return server.kill();
    case 'startStream':
      return server.startStream(command.perSecond);
    case 'stopStream':
      return server.stopStream();
    case 'replayOverlap':
      return server.replayOverlap(command.events);
    case 'stats':
      return server.sessionStats(command.sessionId) ?? null;
    case 'endSession':
      return server.endSession(command.sessionId);
    case 'counters':
      return { ...server.counters, sessions: server.sessionCount() };
    case 'close':
      return undefined;
  }
}

process.on('message', (request: SoakRequest) => {
  if (request.cmd === 'close') {
    server.close().then(
      () => process.send!({ id: request.id, result: null } satisfies SoakReply, () => process.disconnect()),
      (error: unknown) => {
        console.error('soak server: close failed', error);
        process.exit(1);
      },
    );
    return;
  }
  process.send!({ id: request.id, result: handle(request) ?? null } satisfies SoakReply);
});
process.send!({ type: 'listening', url: server.url } satisfies SoakReply);
