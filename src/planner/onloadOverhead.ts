import type { Module } from '../models/Module.js';
import { applyArrangement } from './apply.js';
import type { TransferCosts } from './costs.js';
import { buildLayout } from './layouts.js';
import { predict } from './predict.js';
import type { Profile } from './profile.js';
import { timeSample } from './run.js';

/**
 * What an offloaded group costs per onload beyond its uploads, measured on this model: its hooks' dispatch and,
 * for a wrapped GraphModel, running the graph segment by segment instead of in one execute (the segments' count
 * grows with the hooked modules). The sample is timed once under leaf-level offloading (every group moved, no
 * stream), and what the uploads do not explain is spread over its onloads. Only a model measured resident is
 * calibrated (otherwise its profile was taken offloaded, and its compute time already includes this cost).
 */
export async function onloadOverheadMs(root: Module, sample: () => unknown, units: readonly Module[], base: Profile, upload: TransferCosts): Promise<number> {
  if (!base.measuredResident) return 0;
  const layout = buildLayout(units, { level: 'leaf' }, base.timeline);
  const onloads = layout.groups.reduce((n, g) => n + g.spans.length, 0);
  if (onloads === 0) return 0;
  const arrangement = { profile: base, layout, kept: new Set<never>(), stream: false, disk: false };
  const expected = predict(arrangement, { upload, diskMsPerByte: 0, earlyUploads: false, msPerOnload: 0 }).ms;
  const handle = applyArrangement(root, arrangement, units, undefined);
  let ms: number;
  try {
    ms = (await timeSample(sample, 500)).ms;
  } finally {
    handle.remove();
  }
  return Math.max(0, ms - expected) / onloads;
}
