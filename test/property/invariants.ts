import { connectionOf } from '../../src/connection/connection.ts';
import type { World } from './world.ts';

const reconnectChildren = ['freshReconnect', 'resumeReconnect'];

/**
 * The invariants that must hold after every step of every schedule. Each records what it found
 * in `world.violations`; the runner stops the schedule at the first step that recorded any.
 */
export function checkStep(world: World): void {
  const { server, snapshot } = world;
  const sockets = server.sockets;

  // One live socket, always: checked at each creation by the factory, and now.
  for (const violation of sockets.violations.splice(0)) world.violate(`two sockets live at once: ${violation}`);
  if (sockets.liveCount > 1) world.violate(`${sockets.liveCount} sockets live at once`);
  for (const violation of server.protocolViolations.splice(0)) world.violate(`protocol violation: ${violation}`);

  // A socket is replaced only once it was drained and its actors stopped: older ones keep only the sink.
  for (let index = 0; index < sockets.sockets.length - 1; index += 1) {
    const counts = sockets.sockets[index]!.listenerCounts();
    if (counts.open + counts.message + counts.close > 0 || counts.error !== 1) {
      world.violate(`replaced socket #${index + 1} still has listeners: ${JSON.stringify(counts)}`);
    }
  }

  // A zombie's peer is not answering: its socket is terminated at once, with no close handshake.
  const firstCall = world.zombieSocket?.calls[0];
  if (firstCall && firstCall.method !== 'terminate') world.violate(`a zombie socket got ${firstCall.method}() before terminate()`);

  if (snapshot.status === 'error') world.violate(`the gateway actor crashed: ${String(snapshot.error)}`);
  const children = Object.keys(snapshot.children);
  if (children.filter((id) => reconnectChildren.includes(id)).length > 1) world.violate(`two reconnects in flight: ${children.join(', ')}`);

  if (world.socketsAtFailure !== undefined && sockets.sockets.length > world.socketsAtFailure) {
    world.violate(`a socket was created after the engine gave up (fatal or fail-closed)`);
  }
  if (world.stopRequestedAt !== undefined) {
    if (sockets.sockets.length > world.socketsAtStop) world.violate('a socket was created after stop()');
    const elapsed = world.clock.now() - world.stopRequestedAt;
    if (!world.done && elapsed >= world.stopBound) {
      world.violate(`stop() still not done ${elapsed} ms after it was called (bound: drain + grace = ${world.stopBound} ms)`);
    }
  }

  // Exactly-once so far: the current session has delivered everything up to its last sequence.
  const { session, connection } = snapshot.context;
  const { ledger } = connectionOf(connection);
  if (session && snapshot.status === 'active') world.checkNoneMissing(session.sessionId, ledger.seq ?? 0, 'while running');

  if (world.done) checkQuiet(world);
}

/** Once stopped or failed, nothing may run: no timer, no listener, no child, no socket it could close. */
export function checkQuiet(world: World): void {
  const { server, snapshot, clock } = world;
  const engineTimers = clock.pending - server.inFlight;
  if (engineTimers > 0) world.violate(`${engineTimers} engine timer(s) still pending after the gateway ended`);
  const children = Object.keys(snapshot.children);
  if (children.length > 0) world.violate(`child actors left after the gateway ended: ${children.join(', ')}`);
  server.sockets.sockets.forEach((socket, index) => {
    const counts = socket.listenerCounts();
    if (counts.open + counts.message + counts.close > 0 || counts.error !== 1) {
      world.violate(`socket #${index + 1} still has listeners after the end: ${JSON.stringify(counts)}`);
    }
    // A socket may outlive the gateway only if it ignored even terminate() (a fake socket that
    // honours terminate() is CLOSED right after the call).
    const terminated = socket.calls.some((call) => call.method === 'terminate');
    if (socket.isLive && !terminated) {
      world.violate(`socket #${index + 1} left live (readyState ${socket.readyState}) without terminate() having been tried`);
    }
  });
  const failed = world.socketsAtFailure !== undefined;
  const expected = failed ? 'failed' : 'stopped';
  if (snapshot.status === 'done' && (snapshot.output?.status !== expected || world.state !== expected)) {
    world.violate(`ended in ${world.state} with output ${snapshot.output?.status}, expected ${expected}`);
  }
}
