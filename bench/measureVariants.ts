/**
 * The measuring loop of the `strategies` benchmark, shared by its Node run (bench/strategies.ts) and its page run
 * (bench/browser/strategies.page.ts): one untimed and one timed image per variant per round, the variants taking
 * turns round by round so that the machine's drift hits them all alike. It imports nothing of Node's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { memory } from '../src/index.js';
import type { DiffusionPipeline } from '../src/zoo.js';
import { snapshot, type StrategyVariant } from './strategyVariants.js';
import { keepOnHost, maxAbsDiffToHost } from './hostReference.js';
import { countOnloadedBytes } from './onloadCounter.js';
import { trackAbove } from './peaks.js';

export interface Measured {
  ms: number[];
  peakDeviceBytes: number;
  hostBytes: number;
  onloadBytes: number;
  maxAbsDiff: number;
  /** What the device holds between two images with the strategy still applied (weights left resident, pools). */
  heldBetweenBytes: number;
}

export interface MeasureOptions {
  steps: number;
  rounds: number;
  /** Device bytes held before the pipeline was made: peaks count from there, so a peak is the pipeline's alone. */
  leftover: number;
  /** Host bytes held before the pipeline was made. */
  hostLeftover: number;
  /** A scratch folder for the disk variants ('' where there is no file system). */
  scratch: string;
  /** After each variant's image (a progress bar). */
  step?: () => void;
  log: (line: string) => void;
}

/** Measures `variants` on `p`; the reference image waits on the host. */
export function measureVariants(variants: readonly StrategyVariant[], p: DiffusionPipeline, o: MeasureOptions): Map<string, Measured> {
  // generate() ends with maybeFreeModelHooks, as a pipeline call does: model offload leaves the device empty.
  const gen = (): tf.Tensor => p.generate({ steps: o.steps, seed: 7 });
  const reference = keepOnHost(gen());
  const results = new Map<string, Measured>(
    variants.map((v) => [v.name, { ms: [], peakDeviceBytes: 0, hostBytes: 0, onloadBytes: 0, maxAbsDiff: 0, heldBetweenBytes: 0 }]),
  );
  const exact = variants.some((v) => v.lossy) ? snapshot(p.components) : undefined;
  // Bytes moved onto the device by one call (onloads and immediate prefetches).
  const onloaded = countOnloadedBytes();
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const v of variants) {
        const r = results.get(v.name)!;
        v.apply(p, o.scratch);
        try {
          tf.dispose(gen());
          onloaded.reset();
          const t0 = performance.now();
          const { result: image, peakDeviceBytes } = trackAbove(o.leftover, gen);
          image.dataSync();
          r.ms.push(performance.now() - t0);
          r.peakDeviceBytes = Math.max(r.peakDeviceBytes, peakDeviceBytes);
          r.hostBytes = Math.max(r.hostBytes, memory.stats().hostBytes - o.hostLeftover);
          r.onloadBytes = onloaded.bytes;
          r.maxAbsDiff = Math.max(r.maxAbsDiff, maxAbsDiffToHost(image, reference));
          image.dispose();
          r.heldBetweenBytes = Math.max(r.heldBetweenBytes, memory.stats().deviceBytes - o.leftover);
        } finally {
          p.removeAllHooks();
          if (v.lossy) exact!.restore();
        }
        o.step?.();
      }
      o.log(`round ${round + 1}/${o.rounds}`);
    }
  } finally {
    onloaded.stop();
  }
  return results;
}
