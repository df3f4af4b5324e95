/**
 * The `memory` object that users import: the runtime floor's tracker (stats, budgets, …) with `trace` added.
 * trace needs hooks and modules, which sit above the runtime, so the runtime cannot hold it; this file adds
 * it to the same object (not a copy: its getters must keep reading the live tracker).
 */
import { memory as tracker } from '../runtime/memory.js';
import { runTrace, type TraceDocument, type TraceOptions } from './trace.js';

export interface MemoryTrace {
  /**
   * Runs fn and returns a Chrome trace-event document (open it in Perfetto): a slice per module forward of
   * `options.modules`' trees, transfer slices, device/host byte counters. Async fn → a promise. See trace.ts.
   */
  trace<R>(fn: () => R, options?: TraceOptions): R extends Promise<unknown> ? Promise<TraceDocument> : TraceDocument;
}

const trace: MemoryTrace['trace'] = <R>(fn: () => R, options?: TraceOptions) =>
  runTrace(fn, options, {
    bytes: () => {
      const s = tracker.stats();
      return { device: s.deviceBytes, host: s.hostBytes };
    },
  }) as R extends Promise<unknown> ? Promise<TraceDocument> : TraceDocument;

export const memory: typeof tracker & MemoryTrace = Object.assign(tracker, { trace });
