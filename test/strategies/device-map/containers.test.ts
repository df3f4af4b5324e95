import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchModel, Linear, Module, ModuleList, Sequential, withParameterInit, type DeviceMap } from '../../../src/index.js';
import { entryFor } from '../../../src/strategies/device-map/placement.js';
import { backendOf } from '../../../src/strategies/device-map/backends.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { scratchDirs } from '../../helpers/scratch.js';

/** Which backend was active when each probed Linear's own forward ran, in call order. */
const ran: Array<[string, string]> = [];

class ProbeLinear extends Linear {
  override forward(x: tf.Tensor): tf.Tensor {
    ran.push([this.path, tf.getBackend()]);
    return super.forward(x);
  }
}

class Block extends Module {
  fc1: ProbeLinear;
  fc2: ProbeLinear;
  constructor(seed: number) {
    super();
    [this.fc1, this.fc2] = withParameterInit({ seed }, () => [new ProbeLinear(6, 6), new ProbeLinear(6, 6)]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(tf.tanh(this.fc1.forward(x)));
  }
}

type Kind = 'ModuleList' | 'Sequential';

/**
 * The guide's shape: the parent calls each block itself and never the container (diffusers' `for block in
 * self.transformer_blocks`), so no hook on `blocks` ever runs.
 */
class Net extends Module {
  embed: ProbeLinear;
  blocks: ModuleList<Block>;
  head: ProbeLinear;
  constructor(kind: Kind) {
    super();
    const blocks = Array.from({ length: 4 }, (_, i) => new Block(20 + i));
    this.blocks = kind === 'Sequential' ? new Sequential(blocks) : new ModuleList(blocks);
    [this.embed, this.head] = withParameterInit({ seed: 7 }, () => [new ProbeLinear(6, 6), new ProbeLinear(6, 2)]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = this.embed.forward(x);
    for (const b of this.blocks.children()) h = (b as Block).forward(h);
    return this.head.forward(h);
  }
}

const LEAVES = ['embed', ...[0, 1, 2, 3].flatMap((i) => [`blocks.${i}.fc1`, `blocks.${i}.fc2`]), 'head'];

/** Where each leaf must run under `map`: its entry's backend ('device' is the active one); host and disk are not compute tiers. */
function expectedBackends(map: DeviceMap, home: string): Array<[string, string]> {
  return LEAVES.flatMap((leaf) => {
    const device = map[entryFor(map, leaf)!]!;
    if (device === 'host' || device === 'disk') return [];
    return [[leaf, device === 'device' ? home : device] as [string, string]];
  });
}

function residentBackends(m: Module): Record<string, string | undefined> {
  return Object.fromEntries(m.namedParameters().filter(([, p]) => p.isResident).map(([n, p]) => [n, backendOf(p.storedTensor()!)]));
}

beforeAll(async () => {
  await useBackend('wasm');
  await useBackend('cpu');
});
afterAll(() => useBackend('cpu'));

for (const home of BACKENDS) {
  const other = home === 'cpu' ? 'wasm' : 'cpu';
  for (const kind of ['ModuleList', 'Sequential'] as const) {
    describe(`a map entry naming a ${kind} that is never called, ${home} active`, () => {
      const tmp = scratchDirs('memhooks-dm-containers-');
      const maps: Array<[string, DeviceMap]> = [
        ['backend map', { embed: home, blocks: other, head: home }],
        ['backend map with a nested entry', { '': home, blocks: other, 'blocks.2': home }],
        ['tier map (device under another backend, host and disk)', { '': other, embed: 'host', blocks: 'device', 'blocks.1.fc2': 'disk', 'blocks.3': 'host' }],
      ];
      for (const [label, map] of maps) {
        it(`runs every module under the entry on its device: ${label}`, async () => {
          await useBackend(home);
          const model = new Net(kind);
          const x = tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.sin(i)), [2, 6]);
          expectNoLeaks(() => {
            const handle = dispatchModel(model, map, { offloadFolder: tmp() });
            const placed = residentBackends(model);
            for (let round = 0; round < 2; round++) {
              ran.length = 0;
              const y = model.forward(x);
              expect(tf.getBackend()).toBe(home);
              y.dispose();
              expect(ran.filter(([leaf]) => expectedBackends(map, home).some(([l]) => l === leaf))).toEqual(expectedBackends(map, home));
              // A kernel on another backend would have pulled the weights it read over to that backend.
              expect(residentBackends(model)).toEqual(placed);
            }
            handle.remove();
          });
          x.dispose();
          model.dispose();
        });
      }
    });
  }
}
