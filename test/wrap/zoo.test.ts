import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchPretrained, PRETRAINED_MODELS, PRETRAINED_NAMES, type PretrainedName } from '../../src/zoo.js';
import { InvalidArgumentError } from '../../src/index.js';
import { MODEL_CACHE_DIR } from '../helpers/realModels.js';

describe('pre-trained model cache', () => {
  const tmp: string[] = [];
  afterAll(async () => {
    for (const dir of tmp) await fs.rm(dir, { recursive: true, force: true });
  });

  it('lists the real models with their packages and licenses', () => {
    expect(PRETRAINED_NAMES).toEqual(['upscaler-esrgan-2x', 'mobilenet-v2-nsfw', 'mobilenet-v2-mid-nsfw', 'handtrack-human', 'selfie-human']);
    expect(PRETRAINED_MODELS['upscaler-esrgan-2x']).toMatchObject({ package: '@upscalerjs/default-model', version: '1.0.0' });
    expect(PRETRAINED_MODELS['mobilenet-v2-nsfw']).toMatchObject({ package: 'nsfwjs', version: '4.4.0' });
    for (const name of PRETRAINED_NAMES) expect(PRETRAINED_MODELS[name].license).toMatch(/^MIT, © (20\d\d )?\w/);
  });

  it('reuses a complete extraction without downloading', async () => {
    const started = Date.now();
    const dir = await fetchPretrained('upscaler-esrgan-2x', { cacheDir: MODEL_CACHE_DIR });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(dir).toBe(path.resolve(MODEL_CACHE_DIR, 'upscaler-esrgan-2x', 'package/models'));
    expect(existsSync(path.join(dir, 'model.json'))).toBe(true);
    expect(existsSync(path.join(dir, 'group1-shard1of1.bin'))).toBe(true);
  });

  it('never reuses an incomplete extraction (a crashed fetch) and leaves no temporary folder', async () => {
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'memhooks-zoo-'));
    tmp.push(cacheDir);
    const stale = path.join(cacheDir, 'upscaler-esrgan-2x', 'package', 'models');
    await fs.mkdir(stale, { recursive: true });
    await fs.writeFile(path.join(stale, 'model.json'), '{ truncated');
    const dir = await fetchPretrained('upscaler-esrgan-2x', { cacheDir });
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as { format: string };
    expect(json.format).toBe('layers-model');
    expect((await fs.readdir(cacheDir)).sort()).toEqual(['upscaler-esrgan-2x']);
    // Only the model's folder is extracted (plus the completeness marker), not the rest of the package.
    expect((await fs.readdir(path.join(cacheDir, 'upscaler-esrgan-2x', 'package'))).sort()).toEqual(['models']);
  }, 120_000);

  it('refuses an unknown model name, listing the known ones', async () => {
    await expect(fetchPretrained('resnet' as PretrainedName)).rejects.toThrow(InvalidArgumentError);
    await expect(fetchPretrained('resnet' as PretrainedName)).rejects.toThrow(/Available: upscaler-esrgan-2x, mobilenet-v2-nsfw, mobilenet-v2-mid-nsfw, handtrack-human, selfie-human\./);
  });
});
