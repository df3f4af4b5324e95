/**
 * The `hooks` benchmark: the price of the foundation (BENCHMARKS.md "Targets for the foundation").
 *
 * 1. hook dispatch: ns per no-op hook per call with 0, 1, 4, 16 hooks on a module whose forward returns its
 *    input (so the time is dispatch plus the module's own tf.tidy, nothing else);
 * 2. a hooked module call (one no-op hook, one tiny op) against a bare `tf.tidy` of the same op;
 * 3. the memory tracker: 1,000 small ops with the tracker on against off;
 * 4. a real model (MobileNetV2) bare, wrapped, and wrapped with a no-op hook on every module (one copy).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  HookRegistry,
  memory,
  ModelHook,
  Module,
  unwrapLayersModel,
  wrapLayersModel,
} from '../src/index.js';
import { loadPretrained, type PretrainedName } from '../src/zoo.js';
import {
  interleave,
  maxAbsDiff,
  median,
  pairedRatio,
  target,
  type BenchContext,
  type Benchmark,
  type SectionResult,
} from './framework.js';

/** Overrides both sides (so the registry cannot skip it) and changes nothing. */
class NoopHook extends ModelHook {
  override preForward(_module: Module, args: any[]): any[] {
    return args;
  }

  override postForward(_module: Module, output: any): any {
    return output;
  }
}

/** forward returns its input: a call costs the module's tf.tidy scope plus hook dispatch. */
class Echo extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}

/** One tiny op on a [1, 4] tensor. The constant is a plain field, read the same way as the bare baseline. */
class AddConst extends Module {
  constructor(private readonly c: tf.Tensor) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(x, this.c);
  }
}

function withNoopHooks<M extends Module>(m: M, count: number): M {
  const registry = HookRegistry.checkIfExistsOrInitialize(m);
  for (let i = 0; i < count; i++) registry.registerHook(new NoopHook(), `noop${i}`);
  return m;
}

/** Tensors alive after `fn` minus before: timing loops must not leak. */
function leaked(fn: () => void): number {
  const before = tf.memory().numTensors;
  fn();
  return tf.memory().numTensors - before;
}

const HOOK_COUNTS = [0, 1, 4, 16] as const;

async function dispatchSection(ctx: BenchContext): Promise<SectionResult> {
  const iterations = ctx.smoke ? 200 : 20_000;
  const x = tf.tensor2d([[1, 2, 3, 4]]);
  const modules = HOOK_COUNTS.map((n) => withNoopHooks(new Echo(), n));
  const variants = HOOK_COUNTS.map((n, i) => {
    const m = modules[i]!;
    return {
      name: `${n} hooks`,
      sample(iterations: number): void {
        for (let k = 0; k < iterations; k++) m.forward(x);
      },
    };
  });
  let samples = {};
  const leakedTensors = leaked(() => {
    // Three warm-up rounds: the call sites go polymorphic (4 forwards) and V8 re-optimizes in the first rounds.
    samples = interleave(variants, { rounds: ctx.runs, iterations, warmupRounds: ctx.smoke ? 1 : 3 });
  });
  const s = samples as Record<string, number[]>;
  const base = s['0 hooks']!;
  const metrics: Record<string, number> = {};
  const rows = HOOK_COUNTS.map((n) => {
    const perCall = median(s[`${n} hooks`]!);
    // Per round: (t(n) - t(0)) / n, then the median over rounds, so drift cancels.
    const perHook = n === 0 ? NaN : median(s[`${n} hooks`]!.map((t, r) => (t - base[r]!) / n));
    metrics[`nsPerCall_${n}`] = perCall;
    if (n > 0) metrics[`nsPerHook_${n}`] = perHook;
    return [n, perCall, n === 0 ? '—' : perHook, n === 0 ? '—' : perHook * n];
  });
  const out16 = modules[3]!.forward(x) as tf.Tensor;
  const out0 = modules[0]!.forward(x) as tf.Tensor;
  const diff = maxAbsDiff(out16, out0);
  for (const m of modules) m.dispose();
  x.dispose();
  return {
    id: 'dispatch',
    title: 'Hook dispatch',
    description:
      `A module whose forward returns its input, called ${iterations.toLocaleString('en-US')} times per sample, with 0, 1, 4 and 16 no-op hooks ` +
      '(each overrides preForward and postForward). ns per hook = (call time − call time with 0 hooks) / hooks, per round.',
    table: { columns: ['hooks', 'ns per call', 'ns per hook', 'hook overhead per call (ns)'], rows },
    samples: s,
    metrics,
    targets: [target('ns per no-op hook at 16 hooks', metrics.nsPerHook_16!, 100, 'ns')],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the module without hooks', leakedTensors },
  };
}

async function hookedCallSection(ctx: BenchContext): Promise<SectionResult> {
  // Short samples, many rounds: on this shared machine a sample is often hit by descheduling, and the
  // median of many short paired rounds rejects that better than a few long ones.
  const iterations = ctx.smoke ? 200 : 5_000;
  const x = tf.tensor2d([[1, 2, 3, 4]]);
  const c = tf.tensor2d([[0.5, -1, 2, 0.25]]);
  const hooked = withNoopHooks(new AddConst(c), 1);
  const plain = new AddConst(c);
  const variants = [
    {
      name: 'bare tf.tidy',
      sample(n: number): void {
        for (let k = 0; k < n; k++) tf.tidy(() => tf.add(x, c)).dispose();
      },
    },
    {
      name: 'module, 0 hooks',
      sample(n: number): void {
        for (let k = 0; k < n; k++) (plain.forward(x) as tf.Tensor).dispose();
      },
    },
    {
      name: 'module, 1 no-op hook',
      sample(n: number): void {
        for (let k = 0; k < n; k++) (hooked.forward(x) as tf.Tensor).dispose();
      },
    },
  ];
  let samples: Record<string, number[]> = {};
  const leakedTensors = leaked(() => {
    samples = interleave(variants, { rounds: ctx.runs, iterations });
  });
  const bare = samples['bare tf.tidy']!;
  const metrics: Record<string, number> = {};
  const rows = variants.map(({ name }) => {
    const ratio = pairedRatio(samples[name]!, bare);
    metrics[`nsPerCall_${name}`] = median(samples[name]!);
    metrics[`ratio_${name}`] = ratio;
    return [name, median(samples[name]!), ratio];
  });
  const expected = tf.tidy(() => tf.add(x, c));
  const actual = hooked.forward(x) as tf.Tensor;
  const diff = maxAbsDiff(actual, expected);
  tf.dispose([expected, actual, x, c]);
  hooked.dispose();
  plain.dispose();
  return {
    id: 'hooked-call',
    title: 'Hooked module call vs bare tf.tidy',
    description:
      `One tf.add on [1, 4] tensors, ${iterations.toLocaleString('en-US')} calls per sample, output disposed: inside a bare tf.tidy, ` +
      'as a module forward, and as a module forward with one no-op hook. Ratios are per-round ratios to the bare tf.tidy.',
    table: { columns: ['variant', 'ns per call', 'ratio to bare tf.tidy'], rows },
    samples,
    metrics,
    targets: [target('hooked module call / bare tf.tidy', metrics['ratio_module, 1 no-op hook']!, 1.5, '×')],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'bare tf.tidy(() => tf.add(x, c))', leakedTensors },
  };
}

async function trackerSection(ctx: BenchContext): Promise<SectionResult> {
  const OPS = 1000;
  const batches = ctx.smoke ? 1 : 5;
  const a = tf.range(0, 16);
  const b = tf.fill([16], 0.5);
  const wasEnabled = memory.enabled;
  const warm = (): void => {
    for (let k = 0; k < 200; k++) tf.add(a, b).dispose();
  };
  const sample = (n: number): void => {
    for (let k = 0; k < n; k++) tf.add(a, b).dispose();
  };
  // Switching patches or unpatches the engine; a short untimed warm-up after each switch lets the JIT settle.
  const variants = [
    { name: 'tracker off', before: () => (memory.setEnabled(false), warm()), sample },
    { name: 'tracker on', before: () => (memory.setEnabled(true), warm()), sample },
  ];
  let samples: Record<string, number[]> = {};
  let diff = NaN;
  let trackedBytes = NaN;
  const leakedTensors = leaked(() => {
    try {
      samples = interleave(variants, { rounds: ctx.runs, iterations: OPS * batches });
      memory.setEnabled(false);
      const off = tf.add(a, b);
      memory.setEnabled(true);
      const on = tf.add(a, b);
      diff = maxAbsDiff(on, off);
      tf.dispose([on, off]);
      // Sanity: with the tracker on, one [16] float32 op is seen as 64 bytes at the peak.
      const before = memory.stats().deviceBytes;
      trackedBytes = memory.track(() => tf.add(a, b).dispose()).peakDeviceBytes - before;
    } finally {
      memory.setEnabled(wasEnabled);
    }
  });
  tf.dispose([a, b]);
  const perThousand = (name: string): number => (median(samples[name]!) * OPS) / 1000; // µs per 1,000 ops
  const ratio = pairedRatio(samples['tracker on']!, samples['tracker off']!);
  return {
    id: 'tracker',
    title: 'Memory tracker overhead',
    description:
      `1,000 tf.add ops on [16] float32 tensors, each output disposed (${batches} × 1,000 per sample), with the memory ` +
      'tracker off and on (memory.setEnabled), interleaved round by round.',
    table: {
      columns: ['variant', 'µs per 1,000 ops', 'ratio to tracker off'],
      rows: [
        ['tracker off', perThousand('tracker off'), 1],
        ['tracker on', perThousand('tracker on'), ratio],
      ],
    },
    samples,
    metrics: {
      usPer1000Ops_off: perThousand('tracker off'),
      usPer1000Ops_on: perThousand('tracker on'),
      ratio,
      trackedBytesPerOp: trackedBytes,
    },
    targets: [target('1,000 small ops, tracker on / off', ratio, 1.05, '×')],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the same op with the tracker off', leakedTensors },
  };
}

/**
 * A real model, side by side: ONE copy of the pre-trained weights, predicting the same input bare, wrapped,
 * and wrapped with a no-op hook on every module of the tree. Each variant's untimed `before` wraps or
 * unwraps the model; unwrapping gives the very same tf.Variables back, so the three variants run the same
 * weights at the same heap addresses (with the same XNNPACK packed copies) and differ only by the
 * interception. Separate copies per variant showed a placement effect of several percent on wasm, either way.
 * Full runs use MobileNetV2 (BENCHMARKS.md's target model); smoke runs use the small upscaler on an 8×8
 * image so that CI only checks that the section runs.
 */
async function wrappedModelSection(ctx: BenchContext): Promise<SectionResult> {
  const name: PretrainedName = ctx.smoke ? 'upscaler-esrgan-2x' : 'mobilenet-v2-nsfw';
  const shape = ctx.smoke ? [1, 8, 8, 3] : [1, 224, 224, 3];
  const iterations = ctx.smoke ? 1 : 3;
  const model = await loadPretrained(name);
  const deviceBefore = memory.stats().deviceBytes;
  const moduleCount = wrapLayersModel(model).modules().length;
  const deviceGrowth = memory.stats().deviceBytes - deviceBefore;
  const setup = (wrapped: boolean, hooked: boolean) => (): void => {
    unwrapLayersModel(model);
    if (!wrapped) return;
    const root = wrapLayersModel(model);
    if (hooked) for (const m of root.modules()) withNoopHooks(m, 1);
  };
  const x = tf.tidy(() => tf.mul(tf.randomUniform(shape, 0, 1, 'float32', 42), 255));
  const predict = (n: number): void => {
    for (let k = 0; k < n; k++) (model.predict(x) as tf.Tensor).dispose();
  };
  const variants = [
    { name: 'bare predict', before: setup(false, false), sample: predict },
    { name: 'wrapped predict', before: setup(true, false), sample: predict },
    { name: 'wrapped + no-op hook on every module', before: setup(true, true), sample: predict },
  ];
  let samples: Record<string, number[]> = {};
  let diff = 0;
  const leakedTensors = leaked(() => {
    samples = interleave(variants, { rounds: ctx.runs, iterations });
    const outputs = variants.map((v) => {
      v.before();
      return model.predict(x) as tf.Tensor;
    });
    diff = Math.max(...outputs.slice(1).map((o) => maxAbsDiff(o, outputs[0]!)));
    tf.dispose(outputs);
    unwrapLayersModel(model);
  });
  tf.dispose(x);
  model.dispose();
  const ms = (v: string): number => median(samples[v]!) / 1e6;
  const ratio = (v: string): number => pairedRatio(samples[v]!, samples['bare predict']!);
  const metrics: Record<string, number> = { modules: moduleCount, deviceBytesAddedByWrapping: deviceGrowth };
  const rows = variants.map(({ name: v }) => {
    metrics[`msPerPredict_${v}`] = ms(v);
    metrics[`ratio_${v}`] = ratio(v);
    return [v, ms(v), ratio(v)];
  });
  return {
    id: 'wrapped-model',
    title: `Wrapping a real model (${name} predict)`,
    description:
      `One copy of ${name}, predicting one [${shape.join(', ')}] input, ${iterations} per sample: bare, wrapped, and ` +
      `wrapped with a no-op hook on each of its ${moduleCount} modules (the model is wrapped or unwrapped, untimed, ` +
      `before each sample; the weights stay the same tf.Variables). Wrapping added ${deviceGrowth} device bytes. ` +
      'Ratios are per-round ratios to the bare predict.',
    table: { columns: ['variant', 'ms per predict', 'ratio to bare predict'], rows },
    samples,
    metrics,
    targets: [
      target('predict after wrapping / bare', metrics['ratio_wrapped predict']!, 1.02, '×'),
      target('predict with a no-op hook on every module / bare', metrics['ratio_wrapped + no-op hook on every module']!, 1.05, '×'),
    ],
    check: { maxAbsDiff: diff, tolerance: 0, against: 'the bare model\'s predict', leakedTensors },
  };
}

const SECTIONS = [dispatchSection, hookedCallSection, trackerSection, wrappedModelSection];

export const hooksBenchmark: Benchmark = {
  name: 'hooks',
  description: 'hook dispatch per call with 0/1/4/16 no-op hooks, hooked call vs bare tf.tidy, memory tracker overhead, MobileNetV2 bare vs wrapped',
  async run(ctx) {
    const sections: SectionResult[] = [];
    for (const section of SECTIONS) {
      const result = await section(ctx);
      ctx.log(`  ${result.title}: ${result.skipped === undefined ? 'done' : 'skipped'}`);
      sections.push(result);
    }
    return { name: 'hooks', title: 'hooks: the price of the foundation', sections };
  },
};
