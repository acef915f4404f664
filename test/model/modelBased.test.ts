import { afterAll, describe, expect, it } from 'vitest';
import { drainMachine } from '../../src/machines/drainMachine.ts';
import { freshReconnectMachine } from '../../src/machines/freshReconnectMachine.ts';
import { resumeReconnectMachine } from '../../src/machines/resumeReconnectMachine.ts';
import { gatewayMachine } from '../../src/machines/gatewayMachine.ts';
import { childModels } from './childModels.ts';
import { CoverageRecorder } from './coverage.ts';
import { gatewaySpec, isRelay, planGatewayStep } from './gatewayModel.ts';
import { coveringPaths, describePath, valueKey } from './modelPaths.ts';
import { playPath } from './plans.ts';
import { allStates, allTransitions } from './transitions.ts';
import { World } from './world.ts';

/**
 * Model-based tests: paths generated from the statecharts themselves (xstate/graph), each played
 * on the real engine over real sockets against the chaos gateway, with the engine's state checked
 * after every step. A state or transition that no played path exercised fails the suite, so a
 * transition added to a machine is covered here without a hand-written test, or reported.
 */

const machines = [gatewayMachine, freshReconnectMachine, resumeReconnectMachine, drainMachine];
const total = new CoverageRecorder();

async function inWorld(play: (world: World) => Promise<void>) {
  const world = await World.create();
  try {
    await play(world);
  } finally {
    await world.close();
    total.merge(world.recorder);
  }
  const problems = world.checkInvariants();
  expect(problems).toEqual([]);
  // The plain-data check above looked at every snapshot of every actor: it must have seen some.
  expect(world.contextsChecked).toBeGreaterThan(0);
}

describe('the models', () => {
  it('reach every transition of every machine (a transition no path can reach is a gap in the model)', () => {
    const specs = [gatewaySpec, ...childModels.map((model) => model.spec)];
    for (const machine of machines) {
      const ofMachine = specs.filter((spec) => spec.machine.id === machine.id).map((spec) => coveringPaths(spec).unreachable);
      expect(ofMachine.length, `no model for ${machine.id}`).toBeGreaterThan(0);
      const unreachableEverywhere = ofMachine
        .reduce((common, keys) => common.filter((key) => keys.includes(key)))
        .filter((key) => machine.id !== 'gateway' || !isRelay(key));
      expect(unreachableEverywhere, machine.id).toEqual([]);
    }
  });
});

describe('gateway statechart paths on real sockets', () => {
  const { paths } = coveringPaths(gatewaySpec);

  it.each(paths.map((path) => [describePath(path), path] as const))('%s', async (_name, path) => {
    await inWorld(async (world) => {
      const plans = path.steps.map((step, index) => planGatewayStep(world, step, path.steps[index + 1]));
      await playPath(world, path, plans, {
        history: () => world.gatewayHistory,
        expected: (snapshot) => `${valueKey(snapshot.value)}#${snapshot.context.generation}`,
        logFrom: world.recorder.log.length,
      });
    });
  });
});

for (const model of childModels) {
  describe(`${model.name} paths inside the real gateway`, () => {
    const paths = coveringPaths(model.spec).paths.filter(
      (path) => !model.onlyPathsTaking || path.steps.some((step) => step.keys.some((key) => model.onlyPathsTaking!.test(key))),
    );

    it.each(paths.map((path) => [describePath(path), path] as const))('%s', async (_name, path) => {
      await inWorld(async (world) => {
        const logFrom = world.recorder.log.length;
        await model.play(world, path);
        const key = `${model.actorId}#${model.generation}`;
        await playPath(world, path, [], {
          history: () => world.childHistory(key),
          expected: (snapshot) => valueKey(snapshot.value),
          logFrom,
        });
      });
    });
  });
}

afterAll(() => {
  const lines: string[] = [];
  const missing: string[] = [];
  for (const machine of machines) {
    const states = allStates(machine);
    const transitions = allTransitions(machine);
    const seenStates = states.filter((id) => total.states.has(id));
    const seenTransitions = transitions.filter((key) => total.transitions.has(key));
    lines.push(
      `  ${machine.id.padEnd(16)} states ${seenStates.length}/${states.length}, transitions ${seenTransitions.length}/${transitions.length}`,
    );
    missing.push(...states.filter((id) => !total.states.has(id)).map((id) => `state ${id}`));
    missing.push(...transitions.filter((key) => !total.transitions.has(key)).map((key) => `transition ${key}`));
  }
  console.log(`model-based coverage on real sockets:\n${lines.join('\n')}`);
  if (missing.length > 0) throw new Error(`not exercised by any played path:\n  ${missing.join('\n  ')}`);
});
