/**
 * The page side of `memhooks bench browser` (bench/browserStrategies.ts): the `strategies` benchmark's variants on the
 * zoo pipeline, on webgl, in this page. Query: `?size=small&steps=2&rounds=3&backend=webgl`. It measures what
 * bench/strategies.ts measures (time, peak device bytes above what the page held before, host bytes, bytes onloaded,
 * max abs diff to resident), plus what the device holds between images; the raw numbers go to
 * `globalThis.__memhooksStrategiesBench` and the Node side makes the tables. On webgl, memhooks' device bytes are
 * the GPU's: textures behind live tensors plus tfjs' pool of freed ones (numBytesInGPUAllocated).
 */
// First: registers the browser platform before any other module of memhooks runs.
import { memory, useBackend } from '../../src/browser.js';
import * as tf from '@tensorflow/tfjs-core';
import { DiffusionPipeline, type DiffusionSizeName } from '../../src/browser-zoo.js';
import type { PageMeasured, PageStrategiesResult } from '../browserStrategies.js';
import { CASTING_VARIANTS, OFFLOADING_VARIANTS, type StrategyVariant } from '../strategyVariants.js';
import { measureVariants } from '../measureVariants.js';
import { deviceBaseline } from '../peaks.js';
import { measureUploadCost } from '../uploadCost.js';
import { webglRenderer } from './webglRenderer.js';

interface PageGlobals {
  location: { search: string };
  document: { getElementById(id: string): { textContent: string } | null };
  __memhooksStrategiesBench?: unknown;
}
const page = globalThis as unknown as PageGlobals;

async function startBackend(name: string): Promise<string> {
  if (name !== 'webgl') throw new Error(`The browser strategies page runs on webgl only, not "${name}".`);
  await import('@tensorflow/tfjs-backend-webgl');
  await useBackend('webgl');
  return webglRenderer();
}

/** bench/strategies.ts's measuring loop, in a page: no scratch folder (the page has no file system; no disk variants). */
function measure(variants: readonly StrategyVariant[], p: DiffusionPipeline, steps: number, rounds: number, leftover: number, hostLeftover: number): Record<string, PageMeasured> {
  return Object.fromEntries(measureVariants(variants, p, { steps, rounds, leftover, hostLeftover, scratch: '', log: (l) => console.log(l) }));
}

async function main(): Promise<void> {
  const query = new URLSearchParams(page.location.search);
  const backend = query.get('backend') ?? 'webgl';
  const size = (query.get('size') ?? 'small') as DiffusionSizeName;
  const steps = Number(query.get('steps') ?? '2');
  const rounds = Number(query.get('rounds') ?? '3');
  const device = await startBackend(backend);
  const leftover = deviceBaseline();
  const hostLeftover = memory.stats().hostBytes;
  const p = DiffusionPipeline.create(size, { seed: 0 });
  const before = tf.memory().numTensors;
  let result: PageStrategiesResult;
  try {
    const inPage = (v: StrategyVariant): boolean => v.disk !== true;
    const offloading = measure(OFFLOADING_VARIANTS.filter(inPage), p, steps, rounds, leftover, hostLeftover);
    const casting = measure(CASTING_VARIANTS.filter(inPage), p, steps, rounds, leftover, hostLeftover);
    const leakedTensors = tf.memory().numTensors - before;
    // Last: its matrices would stay in webgl's texture pool and count in every peak after them.
    const uploadMsPerMiB = measureUploadCost(rounds === 1 ? 1 : 5);
    result = { backend, device, size, steps, rounds, uploadMsPerMiB, leftoverDeviceBytes: leftover, leftoverHostBytes: hostLeftover, leakedTensors, offloading, casting };
  } finally {
    p.dispose();
  }
  page.document.getElementById('out')!.textContent = JSON.stringify(result, null, 2);
  page.__memhooksStrategiesBench = result;
}

main().catch((error: unknown) => {
  page.__memhooksStrategiesBench = { error: String((error as Error)?.stack ?? error) };
});
