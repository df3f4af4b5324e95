import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { formatBytes } from '../../src/base/format.js';
import { DEFAULT_WASM_DEVICE_BUDGET } from '../../src/runtime/budget.js';
import { Linear, Module, module, ModuleList, Pipeline, withParameterInit } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { useNodePlatformWith } from '../helpers/platform.js';
import { scratchDirs } from '../helpers/scratch.js';

// The host's free memory is what this test says, so that the numbers inspect prints can be checked exactly.
const host = vi.hoisted(() => ({ free: 7_654_321_000 }));
useNodePlatformWith({ freeMemory: () => host.free });

const run = runCli;

/** A user's own class: registered in this process, so a folder naming another class stands for one never imported. */
@module()
class InspectUserNet extends Module {
  embed: Linear;
  blocks: ModuleList<Linear>;
  constructor(readonly width: number) {
    super();
    [this.embed, this.blocks] = withParameterInit({ seed: 5 }, () => [new Linear(4, width), new ModuleList([new Linear(width, width), new Linear(width, 2)])]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = this.embed.forward(x);
    for (const b of this.blocks.children()) h = (b as Linear).forward(h);
    return h;
  }
}

/** Saves an InspectUserNet and renames its class in config.json to one this process never registered. */
async function saveUnknown(dir: string, options: { weightsName?: string } = {}): Promise<void> {
  const net = new InspectUserNet(3);
  await net.savePretrained(dir, options);
  net.dispose();
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, _class_name: 'NeverImportedNet' }));
}

// Bytes of InspectUserNet(3): embed 4×3+3, blocks.0 3×3+3, blocks.1 3×2+2 floats.
const EMBED = (12 + 3) * 4;
const TOTAL = EMBED + (9 + 3) * 4 + (6 + 2) * 4;

beforeAll(() => useBackend('cpu'));
afterAll(() => useBackend('cpu'));

describe('memhooks inspect <folder>', () => {
  const tmp = scratchDirs('memhooks-inspect-');

  it("shows a savePretrained folder of a class it cannot import from the checkpoint alone: weights, dtypes, shapes, bytes", async () => {
    const dir = tmp();
    await saveUnknown(dir, { weightsName: 'diffusion_pytorch_model.safetensors' });
    const { code, out, err } = await run('inspect', dir, '--backend', 'cpu', '--depth', '3', '--max-memory', 'device=1KB');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`${dir}: ${formatBytes(TOTAL)} of weights in 1 component(s)`);
    expect(out).toContain(`(root): NeverImportedNet ${formatBytes(TOTAL)}`);
    // PyTorch's layout, as saved: Linear weights are [out, in].
    expect(out).toMatch(new RegExp(`\\n {4}embed: ${formatBytes(EMBED)}\\n {6}bias: F32 \\[3\\] 12 B\\n {6}weight: F32 \\[3, 4\\] 48 B\\n`));
    expect(out).toMatch(/\n {4}blocks: 80 B\n {6}0: 48 B\n {8}bias: F32 \[3\] 12 B\n {8}weight: F32 \[3, 3\] 36 B\n {6}1: 32 B\n/);
    expect(out).toContain('class NeverImportedNet is not registered in this process');
    const json = JSON.parse((await run('inspect', dir, '--backend', 'cpu', '--json')).out);
    expect(json.components).toHaveLength(1);
    expect(json.components[0]).toMatchObject({ className: 'NeverImportedNet', bytes: TOTAL, source: 'checkpoint' });
    expect(json.components[0].weights.map((w: { name: string }) => w.name)).toEqual(['blocks.0.bias', 'blocks.0.weight', 'blocks.1.bias', 'blocks.1.weight', 'embed.bias', 'embed.weight']);
    expect(json.components[0].weights[5]).toEqual({ name: 'embed.weight', dtype: 'F32', shape: [3, 4], bytes: 48 });
  });

  it('still builds a registered class, and reads a folder with no config.json from its weights', async () => {
    const dir = tmp();
    const net = new InspectUserNet(3);
    await net.savePretrained(dir, { maxShardSize: 64 });
    net.dispose();
    const known = await run('inspect', dir, '--backend', 'cpu', '--json', '--max-memory', 'device=1GB');
    expect(known.code).toBe(0);
    expect(JSON.parse(known.out).components[0]).toMatchObject({ className: 'InspectUserNet', bytes: TOTAL, source: 'module', deviceMap: { '': 'device' } });
    rmSync(join(dir, 'config.json'));
    const bare = await run('inspect', dir, '--backend', 'cpu');
    expect(bare.err).toBe('');
    expect(bare.out).toContain(`(root): (no config.json) ${formatBytes(TOTAL)}`);
  });

  it('shows a pipeline folder as one section per component, known classes and unknown ones', async () => {
    const dir = tmp();
    const text = new InspectUserNet(3);
    const unet = new InspectUserNet(3);
    await new Pipeline({ text, unet }).savePretrained(dir);
    text.dispose();
    unet.dispose();
    const config = JSON.parse(readFileSync(join(dir, 'unet', 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'unet', 'config.json'), JSON.stringify({ ...config, _class_name: 'NeverImportedNet' }));
    const { code, out, err } = await run('inspect', dir, '--backend', 'cpu', '--depth', '1');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`${dir}: ${formatBytes(2 * TOTAL)} of weights in 2 component(s)`);
    expect(out).toContain(`\ntext (InspectUserNet, ${formatBytes(TOTAL)})\n`);
    expect(out).toContain(`\nunet (NeverImportedNet, ${formatBytes(TOTAL)}, from the checkpoint)\n`);
  });

  it('refuses a folder with no checkpoint, saying what it looked for', async () => {
    const { code, err } = await run('inspect', tmp(), '--backend', 'cpu');
    expect(code).toBe(1);
    expect(err).toMatch(/No checkpoint in .*: it holds no \.safetensors file nor index/);
  });
});

for (const backend of BACKENDS) {
  describe(`memhooks inspect --device-map auto on ${backend}`, () => {
    it('infers the map under the default budgets and prints which numbers it used', async () => {
      const device = backend === 'wasm' ? `device=${formatBytes(DEFAULT_WASM_DEVICE_BUDGET)} (wasm default budget)` : `device=${formatBytes(host.free)} (free host memory)`;
      const { code, out, err } = await run('inspect', 'zoo:tiny', '--backend', backend, '--depth', '0', '--device-map', 'auto');
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain(`device map (auto) under ${device}, host=${formatBytes(host.free)} (free host memory):`);
      expect(out).toContain('(all) → device');
      const json = JSON.parse((await run('inspect', 'zoo:tiny', '--backend', backend, '--json', '--device-map', 'auto')).out);
      expect(json.maxMemoryUsed.host).toEqual({ bytes: host.free, source: 'free host memory' });
      expect(json.maxMemoryUsed.device.bytes).toBe(backend === 'wasm' ? DEFAULT_WASM_DEVICE_BUDGET : host.free);
      expect(json.components[1].deviceMap).toEqual({ '': 'device' });
    });
  });
}

describe('memhooks inspect --device-map', () => {
  it("refuses anything but 'auto' with exit code 2", async () => {
    const { code, err } = await run('inspect', 'zoo:tiny', '--backend', 'cpu', '--device-map', 'balanced');
    expect(code).toBe(2);
    expect(err).toContain('--device-map accepts only "auto"');
  });
});
