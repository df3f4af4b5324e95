import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../base/errors.js';
import { HookRegistry, type HookHandle } from '../hooks/HookRegistry.js';
import { ModelHook } from '../hooks/ModelHook.js';
import { Module, setForwardObserver, type ForwardObserver } from '../models/Module.js';
import { events, type MemhooksEvents, type TransferEvent } from '../runtime/events.js';

/**
 * memory.trace: what a forward does, as a Chrome trace-event file (the JSON Object Format that Perfetto and
 * chrome://tracing open). The tfjs counterpart of the reference guide's torch.jit.trace section: look at a
 * forward before optimizing it.
 *
 * - one slice per module forward that ran (B/E pairs on the "forward" track, named by module path, nested
 *   in time as the calls nest), from a hook registered for the trace on every module of the given trees;
 * - one slice per onload / offload / wait / cast on the "transfers" track and per prefetch on the "transfer
 *   worker" track, from the memhooks events (each reports its duration when it ends);
 * - counters "device bytes" and "host bytes", updated each time the engine registers or frees a buffer.
 */
export interface TraceEvent {
  name: string;
  cat?: string;
  ph: 'B' | 'E' | 'X' | 'C' | 'M';
  /** Microseconds since the trace started. */
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

export interface TraceDocument {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: { backend: string; startedAt: string; tool: 'memhooks' };
}

export interface TraceOptions {
  /**
   * Roots whose modules get a slice per forward through a hook registered outermost, so a slice spans the
   * module's other hooks too (onloads, decoding). Without it, every module forward that runs in the process
   * gets a slice of its own forward (hooks excluded), named by its path.
   */
  modules?: Module | readonly Module[];
}

export interface TraceSources {
  /** Current device and host bytes (the memory tracker's view). */
  bytes(): { device: number; host: number };
}

const PID = 1;
const TID = { forward: 1, transfers: 2, worker: 3 } as const;
const TRANSFERS = ['onload', 'offload', 'prefetch', 'wait', 'cast'] as const;
let traceIds = 0;

/** One trace in progress: collects events until finish(). */
class Recorder {
  readonly events: TraceEvent[] = [];
  private readonly t0 = performance.now();
  private last = { device: NaN, host: NaN };

  constructor(private readonly sources: TraceSources) {
    this.meta('process_name', 0, { name: 'memhooks' });
    this.meta('thread_name', TID.forward, { name: 'forward' });
    this.meta('thread_name', TID.transfers, { name: 'transfers' });
    this.meta('thread_name', TID.worker, { name: 'transfer worker' });
    this.sample();
  }

  now(): number {
    return (performance.now() - this.t0) * 1000;
  }

  enter(name: string, className: string): void {
    this.sample();
    this.events.push({ name, cat: 'module', ph: 'B', ts: this.now(), pid: PID, tid: TID.forward, args: { class: className } });
  }

  exit(name: string, failed = false): void {
    this.events.push({ name, cat: 'module', ph: 'E', ts: this.now(), pid: PID, tid: TID.forward, ...(failed ? { args: { error: true } } : {}) });
    this.sample();
  }

  transfer(kind: (typeof TRANSFERS)[number], e: TransferEvent): void {
    const end = this.now();
    const dur = Math.max(0, Number(e.ms) * 1000 || 0);
    const args: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (['string', 'number', 'boolean'].includes(typeof v)) args[k] = v;
    const tid = kind === 'prefetch' ? TID.worker : TID.transfers;
    this.events.push({ name: `${kind} ${e.path}`, cat: 'transfer', ph: 'X', ts: Math.max(0, end - dur), dur, pid: PID, tid, args });
    this.sample();
  }

  /** Emits a counter event for each of device and host bytes whose value changed. */
  sample(): void {
    const { device, host } = this.sources.bytes();
    const ts = this.now();
    if (device !== this.last.device) this.events.push({ name: 'device bytes', cat: 'memory', ph: 'C', ts, pid: PID, tid: TID.forward, args: { bytes: device } });
    if (host !== this.last.host) this.events.push({ name: 'host bytes', cat: 'memory', ph: 'C', ts, pid: PID, tid: TID.forward, args: { bytes: host } });
    this.last = { device, host };
  }

  private meta(name: string, tid: number, args: Record<string, unknown>): void {
    this.events.push({ name, ph: 'M', ts: 0, pid: PID, tid, args });
  }
}

/** Opens and closes one module's slice; registered outermost, so its slice spans the other hooks' work too. */
class TraceHook extends ModelHook {
  constructor(private readonly recorder: Recorder, private readonly name: string) {
    super();
  }

  override preForward(module: Module, args: any[]): any[] {
    this.recorder.enter(this.name, module.constructor.name);
    return args;
  }

  override postForward(_module: Module, output: any): any {
    this.recorder.exit(this.name);
    return output;
  }

  override onForwardError(): void {
    this.recorder.exit(this.name, true);
  }
}

/** A slice for every module forward that runs, named by the module's path (a root by its class name). */
function observeAll(recorder: Recorder): ForwardObserver {
  const nameOf = (m: Module): string => (m.path === '' ? `(root) ${m.constructor.name}` : m.path);
  return {
    enter: (m) => recorder.enter(nameOf(m), m.constructor.name),
    exit: (m, failed) => recorder.exit(nameOf(m), failed),
  };
}

/** Hooks every module of the given trees (each once), named by path; a root by its class name. */
function hookModules(recorder: Recorder, roots: readonly Module[], hookName: string): HookHandle[] {
  const seen = new Set<Module>();
  const handles: HookHandle[] = [];
  try {
    for (const root of roots) {
      for (const [path, m] of root.namedModules()) {
        if (seen.has(m)) continue;
        seen.add(m);
        const full = root.path === '' ? path : path === '' ? root.path : `${root.path}.${path}`;
        const name = full === '' ? `(root) ${m.constructor.name}` : full;
        handles.push(HookRegistry.checkIfExistsOrInitialize(m).registerHook(new TraceHook(recorder, name), hookName));
      }
    }
  } catch (error) {
    for (const h of handles) h.remove();
    throw error;
  }
  return handles;
}

type BufferMap = { set: Function; delete: Function };

/**
 * Samples the byte counters whenever the engine registers or frees a data buffer, by wrapping the set and
 * delete of the engine's buffer map (the same points the memory tracker counts at; its wrappers run first).
 * Returns how to unwrap: only if nobody re-wrapped since, else the trace's wrapper stays a harmless pass-through.
 */
function watchBuffers(recorder: Recorder): () => void {
  const map = (tf.engine() as unknown as { state: { tensorInfo: BufferMap } }).state.tensorInfo;
  const saved = { set: Object.getOwnPropertyDescriptor(map, 'set'), delete: Object.getOwnPropertyDescriptor(map, 'delete') };
  let active = true;
  const wrap = (key: 'set' | 'delete'): Function => {
    const inner = map[key];
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      const out = inner.apply(this, args);
      if (active) recorder.sample();
      return out;
    };
    Object.defineProperty(map, key, { value: wrapper, configurable: true, writable: true, enumerable: false });
    return wrapper;
  };
  const wrappers = { set: wrap('set'), delete: wrap('delete') };
  return () => {
    active = false;
    for (const key of ['set', 'delete'] as const) {
      if (map[key] !== wrappers[key]) continue;
      const before = saved[key];
      if (before === undefined) delete (map as Partial<BufferMap>)[key];
      else Object.defineProperty(map, key, before);
    }
  };
}

/**
 * Runs `fn` and returns its trace (a promise of it when `fn` returns a promise). What `fn` returns is
 * discarded and the tensors in it are disposed, so tracing leaks nothing: trace to look, then run for results.
 */
export function runTrace(
  fn: () => unknown,
  options: TraceOptions | undefined,
  sources: TraceSources,
): TraceDocument | Promise<TraceDocument> {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`memory.trace(fn) needs a function to run, got ${typeof fn}.`);
  const roots = options?.modules === undefined ? [] : Array.isArray(options.modules) ? options.modules : [options.modules];
  if (!roots.every((m) => m instanceof Module)) {
    throw new InvalidArgumentError('memory.trace(fn, { modules }): `modules` must be a Module or an array of Modules (the trees whose forwards get a slice each).');
  }
  const recorder = new Recorder(sources);
  const startedAt = new Date().toISOString();
  const handles = hookModules(recorder, roots as Module[], `memhooks:trace#${++traceIds}`);
  // Without roots, every module forward in the process gets its slice, named by its path.
  const previousObserver = roots.length === 0 ? setForwardObserver(observeAll(recorder)) : undefined;
  const listeners = TRANSFERS.map((kind) => [kind, (e: TransferEvent) => recorder.transfer(kind, e)] as const);
  for (const [kind, l] of listeners) events.on(kind, l as MemhooksEvents[typeof kind]);
  const unwatch = watchBuffers(recorder);
  const finish = (): TraceDocument => {
    if (roots.length === 0) setForwardObserver(previousObserver);
    unwatch();
    for (const [kind, l] of listeners) events.off(kind, l as MemhooksEvents[typeof kind]);
    for (const h of handles) h.remove();
    recorder.sample();
    return { traceEvents: recorder.events, displayTimeUnit: 'ms', otherData: { backend: tf.getBackend(), startedAt, tool: 'memhooks' } };
  };
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    finish();
    throw error;
  }
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    return (result as Promise<unknown>).then(
      (value) => {
        tf.dispose(value as tf.TensorContainer);
        return finish();
      },
      (error: unknown) => {
        finish();
        throw error;
      },
    );
  }
  tf.dispose(result as tf.TensorContainer);
  return finish();
}
