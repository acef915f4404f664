import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { drainMachine } from '../../src/machines/drainMachine.ts';
import { freshReconnectMachine } from '../../src/machines/freshReconnectMachine.ts';
import type { ReconnectInput } from '../../src/machines/reconnectCourse.ts';
import { resumeReconnectMachine } from '../../src/machines/resumeReconnectMachine.ts';
import { defaultBackoff } from '../../src/core/defaults.ts';
import { SocketLine } from '../../src/connection/socketLine.ts';
import { valueKey, type ModelPath, type TraversalSpec } from './modelPaths.ts';
import { duringHandshake } from './outcomes.ts';
import { eventTypesOf } from './plans.ts';
import { heartbeatInterval, sleep, worldTimeouts, type ServerAct, type World } from './world.ts';
import { openConnection } from '../../src/connection/connection.ts';

/**
 * The actors the gateway spawns, as models of their own. Each path of a child model is played
 * inside the real gateway: the gateway is brought to the point where it starts that child (for the
 * reconnects and the drain, a forced reconnect from `ready`, which is generation 2), and every
 * event of the path is arranged for that generation.
 */

export const childGeneration = 2;

const reconnectInput: ReconnectInput = {
  connection: openConnection(),
  generation: childGeneration,
  url: 'ws://127.0.0.1:1/?v=10&encoding=json',
  delay: 'none',
  drain: 'close',
  attempt: 1,
  timeouts: worldTimeouts,
  backoff: defaultBackoff,
};

const inHandshakeFrame = (snapshot: AnyMachineSnapshot) =>
  ['handshake.awaitingHello', 'handshake.identifying', 'handshake.resuming'].includes(valueKey(snapshot.value));
/** The socket's heartbeat starts at HELLO: only after it can the socket report a zombie. */
const afterHello = (snapshot: AnyMachineSnapshot) => ['handshake.identifying', 'handshake.resuming'].includes(valueKey(snapshot.value));

function generated(snapshot: AnyMachineSnapshot, table: Record<string, (s: AnyMachineSnapshot) => EventObject[]>, file: string) {
  return eventTypesOf(snapshot).flatMap((type) => {
    const make = table[type] ?? table[type.replace(/\.[^.]*\.[^.]*$/, '')] ?? afterEvent(type);
    if (!make) throw new Error(`no model event for "${type}": teach ${file} how the real world produces it`);
    return make(snapshot);
  });
}

/** Timers fire by themselves: every `xstate.after.*` event is its own single variant. */
function afterEvent(type: string) {
  return type.startsWith('xstate.after.') ? () => [{ type }] : undefined;
}

const reconnectEvents: Record<string, (s: AnyMachineSnapshot) => EventObject[]> = {
  'xstate.done.actor.drain': () =>
    [true, false].map((drained) => ({ type: 'xstate.done.actor.drain', output: { drained }, actorId: 'drain' }) as EventObject),
  'xstate.error.actor.drain': () => [{ type: 'xstate.error.actor.drain', error: new Error('injected') } as EventObject],
  // A socket is asked for on entering the handshake: before it opens, it may fail to be made.
  'socket.createFailed': (s) =>
    valueKey(s.value) === 'handshake.opening'
      ? [{ type: 'socket.createFailed', generation: s.context.generation, message: 'injected' }]
      : [],
  'identify.turn': () => [{ type: 'identify.turn' }],
  'identify.turnFailed': () => [{ type: 'identify.turnFailed', message: 'injected' }],
  'socket.open': (s) => [{ type: 'socket.open', generation: s.context.generation }],
  'socket.closed': (s) => [{ type: 'socket.closed', generation: s.context.generation, code: 1006, reason: '' }],
  'gateway.hello': (s) => [{ type: 'gateway.hello', generation: s.context.generation, heartbeatInterval }],
  'gateway.ready': (s) => [{ type: 'gateway.ready', generation: s.context.generation, sessionId: 'model', resumeUrl: null }],
  'gateway.resumed': (s) => [{ type: 'gateway.resumed', generation: s.context.generation }],
  // Frames can only arrive on an open socket.
  'gateway.reconnect': (s) => (inHandshakeFrame(s) ? [{ type: 'gateway.reconnect', generation: s.context.generation }] : []),
  'gateway.malformed': (s) =>
    inHandshakeFrame(s) ? [{ type: 'gateway.malformed', generation: s.context.generation, reason: 'invalid JSON' }] : [],
  'gateway.invalidSession': (s) =>
    inHandshakeFrame(s) ? [{ type: 'gateway.invalidSession', generation: s.context.generation, resumable: false }] : [],
  // The socket's heartbeat runs from HELLO on; the silence check is raised by the handshake itself.
  'socket.zombie': (s) => (afterHello(s) ? [{ type: 'socket.zombie', generation: s.context.generation }] : []),
  'handshake.silenceCheck': () => [{ type: 'handshake.silenceCheck' }],
};

/**
 * A line on which a frame always arrived since the last look: the handshake's silence check then
 * always finds the replay going on. Only the paths that need it (a check that finds a frame) are
 * played from this model.
 */
function chattyLine(): SocketLine {
  const line = new SocketLine();
  let frames = 0;
  Object.defineProperty(line, 'progressFrames', { get: () => (frames += 1) });
  return line;
}

const serializeValue = (snapshot: AnyMachineSnapshot) => valueKey(snapshot.value);

/** Traversed alone, a reconnect has no gateway to ask for its socket or to command it through. */
const noParent = { requestSocket: () => {}, sendHandshake: () => {} };

function reconnectSpec(kind: 'fresh' | 'resume', line?: SocketLine): TraversalSpec {
  const connection = line ? openConnection({ line }) : reconnectInput.connection;
  const machine =
    kind === 'fresh' ? freshReconnectMachine.provide({ actions: noParent }) : resumeReconnectMachine.provide({ actions: noParent });
  const file = 'test/model/childModels.ts';
  return {
    machine,
    input: kind === 'fresh' ? { ...reconnectInput, connection } : { ...reconnectInput, connection, sessionId: 'model' },
    events: (snapshot) => generated(snapshot, reconnectEvents, file),
    serializeState: serializeValue,
  };
}

const drainEvents: Record<string, (s: AnyMachineSnapshot) => EventObject[]> = {
  'socket.closed': () => [{ type: 'socket.closed' }],
  'xstate.error.actor.closeSocket': () => [{ type: 'xstate.error.actor.closeSocket', error: new Error('injected') } as EventObject],
  'xstate.error.actor.terminateSocket': () => [{ type: 'xstate.error.actor.terminateSocket', error: new Error('injected') } as EventObject],
};

function drainSpec(terminateAtOnce: boolean): TraversalSpec {
  return {
    machine: drainMachine,
    input: {
      connection: openConnection(),
      code: 4000,
      terminateAtOnce,
      drainTimeout: worldTimeouts.drain,
      terminateGrace: worldTimeouts.terminateGrace,
    },
    events: (snapshot) => generated(snapshot, drainEvents, file('drain')),
    serializeState: serializeValue,
  };
}

const file = (name: string) => `test/model/childModels.ts (${name})`;

export interface ChildModel {
  name: string;
  actorId: string;
  spec: TraversalSpec;
  /** plays only the paths that take a transition matching this (for a model that exists for a few) */
  onlyPathsTaking?: RegExp;
  /** arranges the world for a path and brings the gateway to where the child starts */
  play(world: World, path: ModelPath): Promise<void>;
  /** the generation the child under test runs in */
  generation: number;
}

async function untilReady(world: World, generation: number) {
  const deadline = Date.now() + 3_000;
  while (world.gatewayKey() !== `ready#${generation}`) {
    if (Date.now() > deadline) throw new Error(`the gateway did not become ready#${generation}: ${world.gatewayHistory.join(' → ')}`);
    await sleep(1);
  }
}

/** Arranges each event of a reconnect path for the reconnect of generation 2. */
function arrangeReconnectPath(world: World, path: ModelPath) {
  const arrangement = world.arrange(childGeneration);
  const react = (act: ServerAct) => {
    arrangement.reactions ??= [];
    return act;
  };
  for (const step of path.steps) {
    const from = valueKey(step.from.value);
    const { type } = step.event;
    const serverAct: Record<string, ServerAct> = {
      'socket.closed': (server) => server.kill(),
      'gateway.malformed': (server) => server.sendRaw('{"op":'),
      'gateway.reconnect': (server) => server.requestReconnect(),
      'gateway.invalidSession': (server) => server.invalidateSession(false),
    };
    if (type === 'xstate.done.actor.drain' && !(step.event as unknown as { output: { drained: boolean } }).output.drained) {
      arrangement.drainClose = 'ignore';
      arrangement.drainTerminate = 'ignore';
    } else if (type === 'xstate.error.actor.drain') {
      (arrangement.crash ??= new Set()).add('reconnectDrain');
    } else if (type === 'socket.createFailed') {
      arrangement.failCreate = true;
    } else if (type === 'identify.turnFailed') {
      arrangement.turn = 'deny';
    } else if (type.startsWith('xstate.after.connectTimeout')) {
      arrangement.redirect = 'silent';
    } else if (type.startsWith('xstate.after.helloTimeout')) {
      arrangement.stallHello = true;
    } else if (type === 'handshake.silenceCheck') {
      arrangement.stallReady = true;
      // A check that finds a frame: the server keeps sending something (a heartbeat request).
      if (valueKey(step.to.value) !== 'failed') arrangement.chatterInHandshake = true;
    } else if (type === 'socket.zombie') {
      arrangement.stallReady = true;
      arrangement.dropAcksFromBeat = 1;
    } else if (serverAct[type]) {
      if (from === 'handshake.opening') arrangement.redirect = 'refused';
      else if (from === 'handshake.awaitingHello') {
        arrangement.stallHello = true;
        react(serverAct[type]);
        arrangement.reactions!.push({ phase: from, act: serverAct[type] });
      } else duringHandshake(world, childGeneration, serverAct[type]);
    }
  }
}

function reconnectModel(kind: 'fresh' | 'resume', replaying = false): ChildModel {
  return {
    name: replaying ? `${kind}Reconnect (replay in progress)` : `${kind}Reconnect`,
    actorId: `${kind}Reconnect`,
    spec: replaying ? reconnectSpec(kind, chattyLine()) : reconnectSpec(kind),
    onlyPathsTaking: replaying ? /silenceCheck\[0\]/ : undefined,
    generation: childGeneration,
    async play(world, path) {
      arrangeReconnectPath(world, path);
      world.actor.send({ type: 'start' });
      await untilReady(world, 1);
      world.actor.send({ type: 'reconnect', fresh: kind === 'fresh' });
    },
  };
}

function drainModel(terminateAtOnce: boolean): ChildModel {
  return {
    name: terminateAtOnce ? 'drain (terminate at once)' : 'drain',
    actorId: 'drain',
    spec: drainSpec(terminateAtOnce),
    generation: childGeneration,
    async play(world, path) {
      const arrangement = world.arrange(childGeneration);
      for (const step of path.steps) {
        const { type } = step.event;
        const from = valueKey(step.from.value);
        if (type.startsWith('xstate.after.drainTimeout')) arrangement.drainClose = 'ignore';
        else if (type.startsWith('xstate.after.terminateGrace')) arrangement.drainTerminate = 'ignore';
        else if (type === 'xstate.error.actor.closeSocket') arrangement.drainClose = 'throw';
        else if (type === 'xstate.error.actor.terminateSocket') arrangement.drainTerminate = 'throw';
        else if (type === 'socket.closed' && from === 'closing') arrangement.drainClose = 'normal';
      }
      world.actor.send({ type: 'start' });
      if (terminateAtOnce) world.arrange(1).dropAcksFromBeat = 1;
      await untilReady(world, 1);
      // A zombie leads to a resume whose drain terminates at once; otherwise a forced resume.
      if (!terminateAtOnce) world.actor.send({ type: 'reconnect', fresh: false });
    },
  };
}

export const childModels: ChildModel[] = [
  reconnectModel('fresh'),
  reconnectModel('resume'),
  reconnectModel('fresh', true),
  reconnectModel('resume', true),
  drainModel(false),
  drainModel(true),
];
