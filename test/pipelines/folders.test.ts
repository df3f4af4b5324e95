import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Linear, type MemhooksError, Module, Pipeline } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { scratchDirs } from '../helpers/scratch.js';
import { expectBitwise, expectSameWeights, snapshotWeights, tiers } from '../strategies/cpu-offload/models.js';
import { disposeComponents, TinyEncoder, tinyComponents, TinyPipeline } from './fixtures.js';

const tokens = () => tf.randomNormal([2, 4, 8], 0, 1, 'float32', 5);

class OtherPipeline extends Pipeline {}

describe.each(BACKENDS)('pipeline folders on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const tmp = scratchDirs('memhooks-pipe-');

  it('saves model_index.json and one folder per component, and loads the pipeline back bitwise', async () => {
    const pipe = new TinyPipeline(tinyComponents());
    const x = tokens();
    const expected = pipe.run(x);
    const dir = tmp();
    await pipe.savePretrained(dir, { maxShardSize: 2000 });
    const index = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8'));
    expect(index).toEqual({ _class_name: 'TinyPipeline', _memhooks_format: 1, textEncoder: ['memhooks', 'TinyEncoder'], denoiser: ['memhooks', 'TinyDenoiser'], vae: ['memhooks', 'TinyVae'] });
    // maxShardSize reaches every component: the denoiser's weights span several shards.
    expect(existsSync(join(dir, 'denoiser', 'model.safetensors.index.json'))).toBe(true);
    const loaded = await TinyPipeline.fromPretrained(dir);
    expect(loaded).toBeInstanceOf(TinyPipeline);
    expect(loaded.componentNames).toEqual(['textEncoder', 'denoiser', 'vae']);
    for (const name of loaded.componentNames) {
      expectSameWeights(snapshotWeights((pipe.components as Record<string, Module>)[name]!), snapshotWeights((loaded.components as Record<string, Module>)[name]!));
    }
    const y = loaded.run(x);
    expectBitwise(y, expected);
    // An offloaded pipeline saves as it is, and a plain Pipeline loads any folder.
    loaded.enableSequentialCpuOffload();
    const dir2 = tmp();
    await loaded.savePretrained(dir2);
    const plain = await Pipeline.fromPretrained(dir2);
    expect(plain.constructor).toBe(Pipeline);
    expect(plain.componentNames).toEqual(loaded.componentNames);
    loaded.removeAllHooks();
    tf.dispose([x, expected, y]);
    for (const p of [pipe, loaded, plain]) disposeComponents(p);
  });

  it('uses given components instead of loading their folders, and loads components into their tier', async () => {
    const pipe = new TinyPipeline(tinyComponents());
    const dir = tmp();
    await pipe.savePretrained(dir);
    const mine = new TinyEncoder();
    const loaded = await TinyPipeline.fromPretrained(dir, { components: { textEncoder: mine }, componentOptions: { vae: { deviceMap: { '': 'host' } } } });
    expect(loaded.components.textEncoder).toBe(mine);
    expect(tiers(loaded.components.vae)).toEqual(['host']);
    expect(tiers(loaded.components.denoiser)).toEqual(['device']);
    for (const p of [pipe, loaded]) disposeComponents(p);
  });

  it('refuses bad folders with one clear error each, leaving nothing allocated', async () => {
    const pipe = new TinyPipeline(tinyComponents());
    const dir = tmp();
    await pipe.savePretrained(dir);
    await expectNoLeaks(async () => {
      await expect(OtherPipeline.fromPretrained(dir)).rejects.toThrow(/saved by TinyPipeline, not OtherPipeline/);
      const stray = new TinyEncoder();
      await expect(TinyPipeline.fromPretrained(dir, { components: { unet: stray } })).rejects.toThrow(/"unet" is no component of the pipeline saved in/);
      stray.dispose();
      // A component folder that is missing.
      rmSync(join(dir, 'vae'), { recursive: true });
      await expect(TinyPipeline.fromPretrained(dir)).rejects.toThrow(/Pipeline component "vae" has no folder/);
      await pipe.savePretrained(dir);
      // An unknown class, in model_index.json and the component's config alike.
      const index = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8'));
      writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ ...index, vae: ['memhooks', 'NoSuchVae'] }));
      const config = JSON.parse(readFileSync(join(dir, 'vae', 'config.json'), 'utf8'));
      writeFileSync(join(dir, 'vae', 'config.json'), JSON.stringify({ ...config, _class_name: 'NoSuchVae' }));
      const err = await TinyPipeline.fromPretrained(dir).catch((e: unknown) => e);
      expect((err as MemhooksError).code).toBe('UNKNOWN_MODULE_CLASS');
      expect(String((err as Error).message)).toMatch(/Pipeline component "vae" cannot be built; nothing was loaded\.[\s\S]*"NoSuchVae", which is not registered/);
      // A component whose weights are corrupt fails after others loaded: they are released.
      writeFileSync(join(dir, 'model_index.json'), JSON.stringify(index));
      writeFileSync(join(dir, 'vae', 'config.json'), JSON.stringify(config));
      writeFileSync(join(dir, 'vae', 'model.safetensors'), 'not a safetensors file');
      await expect(TinyPipeline.fromPretrained(dir)).rejects.toThrow(/Loading pipeline component "vae" from .* failed; the components loaded before it were released/);
    });
    // Saving refuses an undecorated component before writing anything.
    class Plain extends Module {
      lin = new Linear(2, 2);
      forward(x: tf.Tensor): tf.Tensor {
        return this.lin.forward(x);
      }
    }
    const bad = new Pipeline({ plain: new Plain() });
    const dir3 = join(tmp(), 'out');
    await expect(bad.savePretrained(dir3)).rejects.toThrow(/component "plain" cannot be saved; nothing was written[\s\S]*not decorated with @module/);
    expect(existsSync(dir3)).toBe(false);
    disposeComponents(bad);
    disposeComponents(pipe);
  });
});
