/**
 * npm run soak   (node --expose-gc --import tsx scripts/soak.ts [--kills N] [--fresh N] [--rate N])
 *
 * On loopback, against the chaos gateway in a child process, while events stream: 10,000
 * kill-and-resume cycles and 1,000 forced fresh reconnects. Prints cycles, events lost and
 * duplicated (per session, against what the server dispatched for it), the most sockets open at
 * once, heap and RSS before and after (after GC), and the handles left once everything is closed.
 * Exits 1 when a target is missed.
 */
import { parseArgs } from 'node:util';
import type { WebSocket } from 'ws';
import { createGateway, discordProtocol, wsSocketFactory, type Gateway, type WebSocketLike } from '../src/index.ts';
import { testCompression } from '../test/support/compression.ts';
import { SoakServer } from './soakControl.ts';
import { DeliveryTally } from './soakTally.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10000' },
    fresh: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
  },
});
const kills = Number(values.kills);
const freshes = Number(values.fresh);
const rate = Number(values.rate);
const warmup = Number(values.warmup);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with: node --expose-gc --import tsx scripts/soak.ts');
  process.exit(2);
}

const MB = 1024 * 1024;
const heapGrowthLimit = 5 * MB;
const cycleTimeoutMs = 10_000;
const token = 'soak-token';
const baselineHandles = process.getActiveResourcesInfo();
const started = performance.now();

/** Every socket the engine creates, and the most that were live (not CLOSED) when one was created. */
const sockets = { live: new Set<WebSocket>(), maxLive: 0, created: 0 };
const wsFactory = wsSocketFactory();
const createSocket = (url: string): WebSocketLike => {
  const socket = wsFactory(url) as unknown as WebSocket;
  for (const other of sockets.live) if (other.readyState === other.CLOSED) sockets.live.delete(other);
  sockets.live.add(socket);
  sockets.created += 1;
  sockets.maxLive = Math.max(sockets.maxLive, sockets.live.size);
  socket.once('close', () => sockets.live.delete(socket));
  return socket;
};

const server = await SoakServer.start(token);
const gateway: Gateway = createGateway({
  url: server.url,
  protocol: discordProtocol({ token, intents: 513 }),
  timeouts: { connect: 5_000, hello: 5_000, ready: 5_000, drain: 1_000, terminateGrace: 500, stable: 1_000 },
  backoff: { baseMs: 0, maxMs: 0, invalidSessionMinMs: 0, invalidSessionMaxMs: 0 },
  createSocket,
  compression: testCompression(),
});
const tally = new DeliveryTally(() => gateway.actor.getSnapshot().context.session?.sessionId);
gateway.on('dispatch', (payload) => tally.deliver(payload));
const errors = new Map<string, number>();
gateway.on('error', (error) => errors.set(error.message, (errors.get(error.message) ?? 0) + 1));

/** READY/RESUMED so far, and who waits for the next one. */
const readiness = { count: 0, resumed: 0, waiters: [] as Array<() => void> };
gateway.on('state', (change) => {
  if (change.state !== 'ready') return;
  readiness.count += 1;
  if (change.handshake === 'resume') readiness.resumed += 1;
  for (const wake of readiness.waiters.splice(0)) wake();
});

function nextReady(): Promise<void> {
  const mark = readiness.count;
  return within(
    new Promise<void>((resolve) => {
      const check = () => (readiness.count > mark ? resolve() : readiness.waiters.push(check));
      check();
    }),
    'READY/RESUMED',
  );
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${cycleTimeoutMs} ms`)), cycleTimeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const figures = { kills: 0, killsResumed: 0, freshes: 0, lost: 0, duplicated: 0, sessions: 0 };

async function killCycle(): Promise<void> {
  const resumedBefore = readiness.resumed;
  const ready = nextReady();
  await server.request({ cmd: 'kill' });
  await ready;
  figures.kills += 1;
  if (readiness.resumed > resumedBefore) figures.killsResumed += 1;
}

/** Stops the stream, lets the session's last events land, and compares with the server's count. */
async function closeBooks(): Promise<string> {
  await server.request({ cmd: 'stopStream' });
  const sessionId = gateway.actor.getSnapshot().context.session?.sessionId;
  if (!sessionId) throw new Error('no session to account for');
  const stats = (await server.request({ cmd: 'stats', sessionId })) as { dispatched: number } | null;
  const dispatched = stats?.dispatched ?? 0;
  await within(tally.whenDelivered(sessionId, dispatched), `all ${dispatched} events of the session`).catch(() => {});
  figures.lost += tally.close(sessionId, dispatched);
  figures.sessions += 1;
  return sessionId;
}

async function freshCycle(): Promise<void> {
  const old = await closeBooks();
  await within(gateway.reconnect({ fresh: true }), 'READY after reconnect({ fresh: true })');
  // Discord ends a session its client closed with 1000; the chaos gateway is told to.
  await server.request({ cmd: 'endSession', sessionId: old });
  await server.request({ cmd: 'startStream', perSecond: rate });
  figures.freshes += 1;
}

async function heap(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i += 1) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage();
}

/** Kill cycles with a fresh reconnect after every `killCount / freshCount` of them. */
async function run(killCount: number, freshCount: number, progress: boolean): Promise<void> {
  const killsPerFresh = freshCount === 0 ? Infinity : killCount / freshCount;
  let k = 0;
  let f = 0;
  while (k < killCount || f < freshCount) {
    if (f < freshCount && (k >= killCount || k >= (f + 1) * killsPerFresh)) {
      await freshCycle();
      f += 1;
    } else {
      await killCycle();
      k += 1;
    }
    if (progress && (k + f) % 1_000 === 0) {
      const seconds = (performance.now() - started) / 1000;
      const mb = (process.memoryUsage().heapUsed / MB).toFixed(1);
      console.log(
        `  ${k + f}/${killCount + freshCount} cycles (${k} kills, ${f} fresh), ${seconds.toFixed(1)} s, lost ${figures.lost}, duplicated ${tally.duplicated}, max live ${sockets.maxLive}, heap ${mb} MB`,
      );
    }
  }
}

let failure: unknown;
let before: NodeJS.MemoryUsage | undefined;
let after: NodeJS.MemoryUsage | undefined;
try {
  console.log(
    `soak: ${kills} kill-and-resume cycles and ${freshes} forced fresh reconnects, ${rate} events/s, server ${server.url}, compression ${testCompression()}`,
  );
  await server.request({ cmd: 'replayOverlap', events: 5 });
  await within(gateway.start(), 'READY after start()');
  await server.request({ cmd: 'startStream', perSecond: rate });
  await run(warmup, Math.ceil(warmup / 10), false);
  await closeBooks();
  await server.request({ cmd: 'startStream', perSecond: rate });
  before = await heap();
  Object.assign(figures, { kills: 0, killsResumed: 0, freshes: 0 });
  await run(kills, freshes, true);
  await closeBooks();
  after = await heap();
} catch (error) {
  failure = error;
} finally {
  await gateway.stop();
  for (const socket of sockets.live) socket.terminate();
  await server.close();
}
await new Promise((resolve) => setTimeout(resolve, 100));
const handlesLeft = difference(process.getActiveResourcesInfo(), baselineHandles);
report();

function report(): void {
  const seconds = (performance.now() - started) / 1000;
  const growth = before && after ? after.heapUsed - before.heapUsed : NaN;
  const targets: Array<[string, boolean]> = [
    [`completed all cycles`, failure === undefined && figures.kills === kills && figures.freshes === freshes],
    [`events lost: ${figures.lost} (target 0)`, figures.lost === 0],
    [`events duplicated: ${tally.duplicated} (target 0)`, tally.duplicated === 0],
    [`events out of place (no session, or payload seq ≠ s): ${tally.misplaced} (target 0)`, tally.misplaced === 0],
    [`most sockets open at once: ${sockets.maxLive} (target 1)`, sockets.maxLive === 1],
    [`kills answered by RESUME: ${figures.killsResumed}/${figures.kills}`, figures.killsResumed === figures.kills],
    [`heap growth after GC: ${(growth / MB).toFixed(2)} MB (target < 5 MB)`, growth < heapGrowthLimit],
    [
      `open handles left: ${handlesLeft.length}${handlesLeft.length ? ` (${handlesLeft.join(', ')})` : ''} (target 0)`,
      handlesLeft.length === 0,
    ],
  ];
  console.log(`\ncycles: ${figures.kills} kill-and-resume + ${figures.freshes} fresh (after ${warmup} warm-up kills)`);
  console.log(`sessions accounted: ${figures.sessions}, events delivered: ${tally.delivered}, sockets created: ${sockets.created}`);
  if (before && after) {
    console.log(`heap used: ${(before.heapUsed / MB).toFixed(2)} MB before, ${(after.heapUsed / MB).toFixed(2)} MB after`);
    console.log(`rss: ${(before.rss / MB).toFixed(1)} MB before, ${(after.rss / MB).toFixed(1)} MB after`);
  }
  if (errors.size > 0) console.log(`gateway errors: ${[...errors].map(([m, n]) => `${n}× ${m}`).join('; ')}`);
  if (failure) console.log(`aborted: ${failure instanceof Error ? failure.message : String(failure)}`);
  for (const [label, ok] of targets) console.log(`${ok ? 'ok  ' : 'MISS'} ${label}`);
  console.log(`duration: ${seconds.toFixed(1)} s`);
  process.exitCode = targets.every(([, ok]) => ok) ? 0 : 1;
}

/** Items of `now` not in `base`, counting repeats. */
function difference(now: string[], base: string[]): string[] {
  const left = [...base];
  return now.filter((item) => {
    const index = left.indexOf(item);
    if (index < 0) return true;
    left.splice(index, 1);
    return false;
  });
}
