import type { Module } from '../models/Module.js';
import type { TraceDocument } from '../diagnostics/trace.js';

/**
 * A traced sample as the planner reads it: the steps of memory.trace's document in order (a module's forward
 * entered or left, the device bytes after a buffer was made or freed), with the trace's module names mapped
 * back to modules. Everything the planner predicts about device bytes is read off these steps.
 */
export type Step = { kind: 'enter' | 'exit'; module: Module } | { kind: 'bytes'; bytes: number };

export interface Timeline {
  readonly steps: readonly Step[];
  /** Device bytes when the trace started (before the sample ran). */
  readonly startBytes: number;
  /** The modules whose forward ran at least once. */
  readonly ran: ReadonlySet<Module>;
}

/** An interval of steps (both ends included) during which a group's weights are on the device. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** The name memory.trace gives each module of `root` (runTrace's hookModules). */
function traceNames(root: Module): Map<string, Module> {
  const names = new Map<string, Module>();
  for (const [path, m] of root.namedModules()) {
    const full = root.path === '' ? path : path === '' ? root.path : `${root.path}.${path}`;
    const name = full === '' ? `(root) ${m.constructor.name}` : full;
    if (!names.has(name)) names.set(name, m);
  }
  return names;
}

/** Reads a trace of `root` (memory.trace(sample, { modules: root })) into steps. */
export function readTrace(doc: TraceDocument, root: Module): Timeline {
  const names = traceNames(root);
  const steps: Step[] = [];
  const ran = new Set<Module>();
  let startBytes: number | undefined;
  for (const e of doc.traceEvents) {
    if (e.ph === 'C' && e.name === 'device bytes') {
      const bytes = Number(e.args?.bytes ?? 0);
      startBytes ??= bytes;
      steps.push({ kind: 'bytes', bytes });
    } else if ((e.ph === 'B' || e.ph === 'E') && e.cat === 'module') {
      const module = names.get(e.name);
      if (module === undefined) continue;
      if (e.ph === 'B') ran.add(module);
      steps.push({ kind: e.ph === 'B' ? 'enter' : 'exit', module });
    }
  }
  return { steps, startBytes: startBytes ?? 0, ran };
}

/**
 * When a group of `modules` is on the device, as group offloading moves it: onloaded when any of its modules
 * is entered while it is off, offloaded when its leader (the module of the group whose first forward ends
 * last, the last to run as recorded) leaves its outermost forward. A group none of whose modules ran is never
 * onloaded: no spans.
 */
export function spansOf(timeline: Timeline, modules: readonly Module[]): Span[] {
  const index = stepsByModule(timeline);
  // The steps of the group's modules only, in order: a large trace is read once, not once per group.
  const own = [...new Set(modules)].flatMap((m) => index.get(m) ?? []).sort((a, b) => a - b);
  let leader: Module | undefined;
  let leaderExit = -1;
  const seen = new Set<Module>();
  for (const i of own) {
    const s = timeline.steps[i] as Extract<Step, { module: Module }>;
    if (s.kind !== 'exit' || seen.has(s.module)) continue;
    seen.add(s.module);
    if (i > leaderExit) [leader, leaderExit] = [s.module, i];
  }
  if (leader === undefined) return [];
  const spans: Span[] = [];
  const depth = new Map<Module, number>();
  let start = -1;
  for (const i of own) {
    const s = timeline.steps[i] as Extract<Step, { module: Module }>;
    const d = (depth.get(s.module) ?? 0) + (s.kind === 'enter' ? 1 : -1);
    depth.set(s.module, d);
    if (s.kind === 'enter' && start < 0) start = i;
    else if (s.kind === 'exit' && s.module === leader && d === 0 && start >= 0) {
      spans.push({ start, end: i });
      start = -1;
    }
  }
  if (start >= 0) spans.push({ start, end: timeline.steps.length - 1 });
  return spans;
}

const indexes = new WeakMap<Timeline, Map<Module, number[]>>();

/** The indices of each module's enter and exit steps, built once per timeline. */
function stepsByModule(timeline: Timeline): Map<Module, number[]> {
  let index = indexes.get(timeline);
  if (index !== undefined) return index;
  index = new Map();
  timeline.steps.forEach((s, i) => {
    if (s.kind === 'bytes') return;
    let list = index!.get(s.module);
    if (list === undefined) index!.set(s.module, (list = []));
    list.push(i);
  });
  indexes.set(timeline, index);
  return index;
}

/** Adds `bytes` over each span to a per-step array of device bytes (a difference array, summed by `settle`). */
export function addSpans(diff: Float64Array, spans: readonly Span[], bytes: number): void {
  for (const { start, end } of spans) {
    diff[start]! += bytes;
    diff[end + 1]! -= bytes;
  }
}

/** Prefix sums of a difference array built by addSpans (length steps + 1): bytes on the device per step. */
export function settle(diff: Float64Array): Float64Array {
  const out = new Float64Array(diff.length - 1);
  let run = 0;
  for (let i = 0; i < out.length; i++) out[i] = run += diff[i]!;
  return out;
}
