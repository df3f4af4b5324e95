import type { PlanPrediction } from '../pipelines/planSlot.js';
import type { TransferCosts } from './costs.js';
import type { Layout, PlannedGroup } from './layouts.js';
import type { Profile } from './profile.js';
import { addSpans, settle } from './timeline.js';

/** One way to run the model: a profile's variant, and which groups of a layout are offloaded, and how. */
export interface Arrangement {
  readonly profile: Profile;
  /** undefined: every weight resident. */
  readonly layout: Layout | undefined;
  /** The groups of the layout kept on the device (keepResident); the rest are offloaded. */
  readonly kept: ReadonlySet<PlannedGroup>;
  readonly stream: boolean;
  readonly disk: boolean;
}

export interface PredictionContext {
  readonly upload: TransferCosts;
  /** ms per byte read back from offloadDir (0 without disk candidates). */
  readonly diskMsPerByte: number;
  /** Whether group offloading issues host-tier uploads early with useStream on this backend (EARLY_UPLOAD_BACKENDS). */
  readonly earlyUploads: boolean;
  /** ms per onload of a group beyond its uploads, measured on this model (onloadOverhead.ts). */
  readonly msPerOnload: number;
}

/** Bytes a group's weights take on the host or disk and per upload under the profile's variant (cast weights are smaller). */
export function storedBytes(profile: Profile, group: PlannedGroup): number {
  return group.params.reduce((n, p) => n + (profile.deviceBytes.get(p) ?? p.byteLength), 0);
}

/**
 * The prediction of docs/planner.md ("The cost model"):
 * - peak device bytes: the weights that stay on the device, plus, at every step of the traced sample, the
 *   activation bytes then and the offloaded groups on the device then (a cast group as its codes, or decoded
 *   whole with a stream), plus the next group when useStream uploads it early;
 * - time: the sample's resident time, plus for each onload of each offloaded group per call its upload (bytes ×
 *   measured cost per byte + the cost per upload for each of its weights), the cost per onload measured on this
 *   model (its hooks; a GraphModel's segments) and, from disk without a stream, its read;
 * - host bytes: the offloaded groups' copies (host tier), or what is read from disk in flight, plus the staging
 *   slots a stream keeps for disk reads and cast weights.
 */
export function predict(a: Arrangement, ctx: PredictionContext): PlanPrediction & { movedBytes: number } {
  const { profile } = a;
  const total = [...profile.deviceBytes.values()].reduce((n, b) => n + b, 0);
  const offloaded = a.layout === undefined ? [] : a.layout.groups.filter((g) => !a.kept.has(g));
  const stored = offloaded.map((g) => storedBytes(profile, g));
  const staysOn = total - stored.reduce((n, b) => n + b, 0);
  const steps = profile.timeline.steps;
  const diff = new Float64Array(steps.length + 1);
  // Cast weights onload as their codes and decode a layer at a time (in the profile's activations); with a
  // stream the transfer worker decodes a whole group ahead and its float32 values are uploaded early.
  const casting = profile.variant.lossy;
  const onDevice = offloaded.map((g, i) => (casting && !a.stream ? stored[i]! : g.bytes));
  offloaded.forEach((g, i) => addSpans(diff, g.spans, onDevice[i]!));
  if (a.stream && (casting || (!a.disk && ctx.earlyUploads))) addPrefetch(diff, offloaded);
  const on = settle(diff);
  let top = 0;
  for (let i = 0; i < steps.length; i++) top = Math.max(top, profile.act[i]! + on[i]!);
  let movedBytes = 0;
  let uploads = 0;
  let onloads = 0;
  offloaded.forEach((g, i) => {
    movedBytes += g.spans.length * stored[i]!;
    uploads += g.spans.length * g.params.length; // each weight is its own upload
    onloads += g.spans.length;
  });
  const readMs = a.disk && !a.stream ? movedBytes * ctx.diskMsPerByte : 0;
  const ms = profile.computeMs + movedBytes * ctx.upload.msPerByte + uploads * ctx.upload.msPerUpload + onloads * ctx.msPerOnload + readMs;
  const largest = Math.max(0, ...stored);
  const offloadedBytes = stored.reduce((n, b) => n + b, 0);
  // Staging slots (prefetchDepth + 1 = 2 of the largest group) exist with a stream for disk reads and for
  // cast weights, which the transfer worker decodes into float32 there; host-tier float32 weights need none.
  const staging = a.stream && (a.disk || casting) ? 2 * Math.max(0, ...offloaded.map((g, i) => (casting ? g.bytes : stored[i]!))) : 0;
  return {
    peakDeviceBytes: Math.ceil(staysOn + top),
    hostBytes: offloaded.length === 0 ? 0 : a.disk ? Math.max(staging, largest) : offloadedBytes + staging,
    diskBytes: a.disk ? offloadedBytes : 0,
    ms,
    movedBytes,
  };
}

/** With an early upload, the next group to onload is on the device from the start of the one before it. */
function addPrefetch(diff: Float64Array, offloaded: readonly PlannedGroup[]): void {
  const order = offloaded.flatMap((g) => g.spans.map((s) => ({ g, start: s.start }))).sort((x, y) => x.start - y.start);
  for (let k = 0; k + 1 < order.length; k++) {
    const next = order[k + 1]!;
    if (next.g !== order[k]!.g && next.start > order[k]!.start) addSpans(diff, [{ start: order[k]!.start, end: next.start - 1 }], next.g.bytes);
  }
}
