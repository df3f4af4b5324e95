import * as tf from '@tensorflow/tfjs-core';
import { HookRegistry, ModelHook, type Module } from 'memhooks';

/** What a browser-suite test asserts about device memory: live tensors and their bytes. */
export interface DeviceUse {
  tensors: number;
  bytes: number;
}

/**
 * Device memory as the browser suite measures it: tfjs' own count of live tensors and their bytes, the same on every
 * backend. memhooks' tracker learns what the GPU holds on webgl and webgpu (texture and buffer pools included) with
 * #25's GPU work (test/browser/memory-*.test.ts); once that is settled, `bytes` becomes memory.stats().deviceBytes
 * here and every assertion of the suite follows.
 */
export function deviceUse(): DeviceUse {
  const { numTensors, numBytes } = tf.memory();
  return { tensors: numTensors, bytes: numBytes };
}

/** How much device memory `fn` leaves in use compared with before it ran (negative: it freed some). */
export function deviceDelta(fn: () => void): DeviceUse {
  const before = deviceUse();
  fn();
  const after = deviceUse();
  return { tensors: after.tensors - before.tensors, bytes: after.bytes - before.bytes };
}

/** Samples live tensor bytes as each leaf of a model finishes, the moment its weights and output are on the device. */
class PeakHook extends ModelHook {
  constructor(private readonly gauge: { peak: number }) {
    super();
  }
  override postForward(_m: Module, output: unknown): unknown {
    this.gauge.peak = Math.max(this.gauge.peak, tf.memory().numBytes);
    return output;
  }
}

export interface PeakGauge {
  /** The most live tensor bytes seen at a leaf's end since the last reset, above what was live at the reset. */
  peakAbove(): number;
  reset(): void;
  detach(): void;
}

/**
 * A peak gauge over every leaf of `root`, from tf.memory() (tf.profile is no substitute: its kernel timing loses the
 * WebGPU device under SwiftShader). Attach it before applying a strategy, so that its hook sits inside the strategy's
 * and sees the weights the strategy onloaded. On GPU backends this becomes memory.track's peakDeviceBytes once the
 * tracker reads GPU bytes.
 */
export function attachPeakGauge(root: Module): PeakGauge {
  const gauge = { peak: 0 };
  let base = 0;
  const leaves = root.modules().filter((m) => m !== root && m.children().length === 0);
  for (const leaf of leaves) HookRegistry.checkIfExistsOrInitialize(leaf).registerHook(new PeakHook(gauge), PEAK_HOOK);
  const reset = (): void => {
    base = tf.memory().numBytes;
    gauge.peak = base;
  };
  reset();
  return {
    peakAbove: () => gauge.peak - base,
    reset,
    detach: () => {
      for (const leaf of leaves) HookRegistry.get(leaf)?.removeHook(PEAK_HOOK);
    },
  };
}

const PEAK_HOOK = 'page_peak_gauge';
