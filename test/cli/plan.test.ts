import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { memory } from '../../src/index.js';
import { DiffusionPipeline } from '../../src/zoo.js';
import { runCli } from '../helpers/cli.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

const run = runCli;

/** The peak of the call `memhooks plan zoo:tiny` plans on (one generate(), 2 steps), every weight resident. */
async function tinyResidentPeak(backend: string): Promise<number> {
  await useBackend(backend);
  const pipe = DiffusionPipeline.create('tiny', { seed: 0 });
  try {
    tf.dispose(pipe.generate({ steps: 2, seed: 7 }));
    const { result, peakDeviceBytes } = memory.track(() => pipe.generate({ steps: 2, seed: 7 }));
    result.dispose();
    return peakDeviceBytes;
  } finally {
    pipe.dispose();
  }
}

afterAll(() => useBackend('cpu'));

describe.each(BACKENDS)('memhooks plan on %s', (backend) => {
  it('prints the plan for a zoo pipeline with the table of candidates, and --verify measures it within the budget', async () => {
    const budget = Math.floor(0.75 * (await tinyResidentPeak(backend)));
    const { code, out, err } = await run('plan', 'zoo:tiny', '--budget', String(budget), '--backend', backend, '--verify');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`memhooks plan: zoo:tiny (`);
    expect(out).toContain(`on ${backend}, device budget ${(budget / 1e6).toFixed(2)} MB, planned on one generate() of the zoo pipeline, 2 steps`);
    // describe(): the candidates considered, the model-offload chain among them.
    expect(out).toContain('resident');
    expect(out).toContain('model offload chain');
    expect(out).toMatch(/\nverified: peak .* \(predicted .*, within the budget\), .* ms \(predicted .* ms\)/);
  });
});

describe('memhooks plan: bad input', () => {
  it.each([
    [['zoo:tiny'], /--budget is required/],
    [['zoo:tiny', '--budget', 'lots'], /--budget "lots": /],
    [['zoo:tiny', '--budget', '0'], /--budget must be more than 0 bytes/],
    [['zoo:tiny', '--budget', '1GB', '--host-budget', '-3MB'], /--host-budget "-3MB": /],
    [['zoo:tiny', '--budget', '1GB', '--allow-lossy', 'fp16'], /Unknown lossy dtype "fp16"\. Valid dtypes: bf16, fp8\./],
    [['zoo:tiny', '--budget', '1GB', '--margin', '1.5'], /--margin needs a fraction from 0 up to \(not including\) 1, got "1\.5"/],
    [['zoo:tiny', '--budget', '1GB', '--steps', '0'], /--steps needs a whole number ≥ 1, got "0"/],
    [['zoo:tiny', '--budget', '1GB', '--backend', 'webgl'], /Unknown backend "webgl"/],
    [['zoo:huge', '--budget', '1GB'], /Unknown zoo size "huge"/],
    [['my-model', '--budget', '1GB', '--backend', 'cpu'], /"my-model" is no zoo pipeline or catalog model\. Give a zoo pipeline \(zoo:tiny, .*\) or a catalog model \(upscaler-esrgan-2x, /],
  ])('%j is refused with exit code 2 and says what to give', async (args, message) => {
    const { code, out, err } = await run('plan', ...args);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
  });

  it('a budget nothing reaches fails (exit 1) with the planner\'s refusal', async () => {
    const { code, out, err } = await run('plan', 'zoo:tiny', '--budget', '1KB', '--backend', 'cpu');
    expect(code).toBe(1);
    expect(out).toBe('');
    // The refusal: it names the smallest achievable peak.
    expect(err).toMatch(/^memhooks: .*smallest achievable peak/);
  });
});
