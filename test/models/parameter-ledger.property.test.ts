import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memory, MemhooksError, Parameter } from '../../src/index.js';
import type { DiskRef } from '../../src/models/Parameter.js';
import { mulberry32 } from '../../src/runtime/random.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

// Property: whatever sequence of tier moves, casts, restores, kept copies, decoded tensors, releases and
// disposes a set of parameters goes through, memory.stats() equals a recount made from scratch from what the
// parameters report about themselves (tier, hasHostCopy, byteLength, hasDecoded), never from the ledger.
// The sequences are seeded: a failure names its seed and the steps that led to it.

const SEEDS = [1, 2, 3, 4, 5, 6];
const STEPS = 400;
const LOW_PRECISION = ['float16', 'bfloat16', 'float8_e4m3fn', 'float8_e5m2'] as const;
const SHAPES: readonly (readonly number[])[] = [[7], [3, 5], [2, 3, 3], [1]];

type Random = () => number;
type Stats = { hostBytes: number; deviceBytes: number; diskBytes: number };

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function values(random: Random, size: number, dtype: 'float32' | 'int32'): Float32Array | Int32Array {
  if (dtype === 'int32') return Int32Array.from({ length: size }, () => Math.floor((random() - 0.5) * 2 ** 31));
  return Float32Array.from({ length: size }, () => (random() - 0.5) * 1000);
}

function pickWeighted(random: Random, steps: readonly Step[]): Step {
  let left = random() * steps.reduce((sum, k) => sum + (k.weight ?? 1), 0);
  for (const k of steps) {
    left -= k.weight ?? 1;
    if (left < 0) return k;
  }
  return steps[steps.length - 1]!;
}

/** The ways a parameter is made; Variables twice as often, since they have the most paths (stale kept copies). */
const MADE_FROM = ['tensor', 'variable', 'variable', 'float32 host', 'int32 host'] as const;

function makeParameter(random: Random, label: string, from = pick(random, MADE_FROM)): Parameter {
  const shape = pick(random, SHAPES);
  const size = shape.reduce((a, b) => a * b, 1);
  if (from === 'tensor') return new Parameter(tf.tensor(values(random, size, 'float32'), shape as number[]), { label });
  if (from === 'variable') {
    const initial = tf.tensor(values(random, size, 'float32'), shape as number[]);
    const variable = tf.variable(initial, random() < 0.5);
    initial.dispose(); // the variable holds the buffer alone, as a Parameter's own variable does
    return new Parameter(variable, { label });
  }
  const dtype = from === 'float32 host' ? 'float32' : 'int32';
  return new Parameter({ data: values(random, size, dtype), shape }, { label });
}

/** The stored bytes as a file would hold them (packed words when cast), behind an in-memory DiskRef. */
function diskRefOf(p: Parameter): DiskRef {
  const bytes = p.diskRef?.read() ?? (p.tier === 'host' ? p.hostData().slice() : (p.storedTensor()!.dataSync() as Float32Array | Int32Array).slice());
  return { path: `memory://${p.label}`, read: () => bytes.slice() };
}

/** What the parameters hold, from their own observable state. Files belong to whoever writes them: none here. */
function recount(params: readonly Parameter[], base: Stats): Stats {
  const counted = { ...base };
  for (const p of params) {
    if (p.isDisposed) continue;
    if (p.tier === 'host') counted.hostBytes += p.byteLength;
    if (p.hasHostCopy) counted.hostBytes += p.byteLength;
    if (p.tier === 'device') counted.deviceBytes += p.byteLength;
    if (p.hasDecoded) counted.deviceBytes += p.size * 4;
  }
  return counted;
}

function reported(): Stats {
  const { hostBytes, deviceBytes, diskBytes } = memory.stats();
  return { hostBytes, deviceBytes, diskBytes };
}

interface Step {
  name: string;
  /** Whether the step applies to the parameter as it is now. */
  when(p: Parameter): boolean;
  run(p: Parameter, random: Random): void;
  /** How often it is picked against the others (1 unless given): ends of life are rarer, so sequences go deep. */
  weight?: number;
}

const live = (p: Parameter): boolean => !p.isDisposed;

const STEP_KINDS: readonly Step[] = [
  { name: 'toHost', when: live, run: (p) => p.toHost() },
  { name: 'toDevice', when: live, run: (p) => p.toDevice() },
  { name: 'toDevice(keepHostCopy)', when: live, run: (p) => p.toDevice({ keepHostCopy: true }) },
  { name: 'dropHostCopy', when: live, run: (p) => p.dropHostCopy() },
  { name: 'toDisk', when: live, run: (p) => p.toDisk(diskRefOf(p)) },
  { name: 'diskToDevice', when: (p) => live(p) && p.tier === 'disk', run: (p) => p.diskToDevice(p.diskRef!.read()) },
  {
    name: 'castStorage',
    when: (p) => live(p) && p.dtype === 'float32' && !p.isLowPrecision,
    run: (p, random) => p.castStorage(pick(random, LOW_PRECISION)),
  },
  { name: 'restoreFloat32Storage', when: live, run: (p) => p.restoreFloat32Storage() },
  {
    name: 'assign',
    when: live,
    run: (p, random) => {
      const value = tf.tensor(values(random, p.size, p.dtype), p.shape as number[], p.dtype);
      p.assign(value);
      value.dispose();
    },
  },
  {
    // An optimizer step: the live Variable gets a new buffer, so a kept host copy goes stale.
    name: 'assign the live Variable outside memhooks',
    weight: 3,
    when: (p) => live(p) && p.storedTensor() instanceof tf.Variable,
    run: (p, random) => {
      const value = tf.tensor(values(random, p.size, 'float32'), p.shape as number[]);
      (p.storedTensor() as tf.Variable).assign(value);
      value.dispose();
      if (p.hasHostCopy) staleCopies.add(p);
    },
  },
  {
    name: 'attachDecoded',
    when: (p) => live(p) && p.isLowPrecision,
    run: (p, random) => p.attachDecoded(tf.tensor(values(random, p.size, 'float32'), p.shape as number[])),
  },
  { name: 'detachDecoded', when: () => true, run: (p) => p.detachDecoded() },
  {
    name: 'release',
    weight: 0.3,
    when: live,
    run: (p) => {
      const tensor = p.release();
      // release() hands the device tensor over undisposed; the new owner frees it.
      expect(tensor?.isDisposed ?? false).toBe(false);
      tensor?.dispose();
    },
  },
  { name: 'dispose', weight: 0.3, when: () => true, run: (p) => p.dispose() },
  {
    // Checks that must refuse and change nothing (memory.stats() included: compared after the step).
    name: 'a refused call',
    when: live,
    run: (p, random) => {
      const wrong = tf.zeros([p.size + 1]);
      const refusals = [
        () => p.castStorage(p.isLowPrecision ? 'float16' : ('float64' as 'float16')),
        () => p.assign(wrong),
        () => p.attachDecoded(wrong),
        ...(p.tier === 'disk' ? [] : [() => p.diskToDevice(new Float32Array(p.size))]),
      ];
      const before = [p.tier, p.storageDtype, p.hasHostCopy, p.hasDecoded];
      expect(pick(random, refusals)).toThrow(MemhooksError);
      expect([p.tier, p.storageDtype, p.hasHostCopy, p.hasDecoded]).toEqual(before);
      wrong.dispose();
    },
  },
];

/** Step and storage combinations the sequences must reach, or the property would pass by not trying. */
const MUST_REACH = [
  'toHost @ device kept', 'toHost @ device kept stale', 'toHost @ device cast', 'toHost @ disk cast', 'toDevice(keepHostCopy) @ disk',
  'toDevice(keepHostCopy) @ host cast', 'toDisk @ device kept', 'toDisk @ host cast', 'diskToDevice @ disk cast',
  'castStorage @ device kept', 'castStorage @ host', 'castStorage @ disk', 'restoreFloat32Storage @ device cast',
  'restoreFloat32Storage @ disk cast', 'restoreFloat32Storage @ host cast', 'assign @ device kept', 'assign @ disk cast',
  'assign @ device kept cast', 'attachDecoded @ device cast', 'dropHostCopy @ device kept', 'release @ device kept',
  'release @ host', 'dispose @ device kept', 'dispose @ host cast', 'a refused call @ disk cast', 'assign @ device kept stale',
  'castStorage @ device kept stale', 'dispose @ device kept stale', 'toDevice(keepHostCopy) @ disk cast', 'release @ disk cast',
];

/** Parameters whose live Variable was assigned behind their back while a host copy was kept. */
const staleCopies = new WeakSet<Parameter>();

/** The storage a step starts from, as the coverage check names it. */
function situation(p: Parameter): string {
  if (p.isDisposed) return 'disposed';
  const stale = p.hasHostCopy && staleCopies.has(p);
  return [p.tier, p.hasHostCopy ? 'kept' : '', stale ? 'stale' : '', p.isLowPrecision ? 'cast' : ''].filter(Boolean).join(' ');
}

describe.each(BACKENDS)('Parameter storage ledger on %s (seeded random sequences)', (backend) => {
  const reached = new Set<string>();
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it.each(SEEDS)('keeps memory.stats() equal to a recount from scratch after every step (seed %i)', (seed) => {
    // Every tensor a step makes is freed by a later one: nothing is left once the parameters are disposed.
    expectNoLeaks(() => {
      const random = mulberry32(seed);
      const base = reported();
      const params = MADE_FROM.map((from, i) => makeParameter(random, `p${i}`, from));
      const log: string[] = [];
      expect(reported(), 'after creating the parameters').toEqual(recount(params, base));
      for (let step = 0; step < STEPS; step++) {
        const i = Math.floor(random() * params.length);
        const p = params[i]!;
        if (p.isDisposed && random() < 0.5) {
          params[i] = makeParameter(random, `p${i}`);
          log.push(`${step}: p${i} made anew`);
        } else {
          const kind = pickWeighted(random, STEP_KINDS.filter((k) => k.when(p)));
          const where = situation(p);
          reached.add(`${kind.name} @ ${where}`);
          log.push(`${step}: p${i} (${where}${p.isDisposed ? '' : `, ${p.storageDtype}`}) ${kind.name}`);
          // Every step but these either drops the kept copy or writes a current one.
          if (!['assign the live Variable outside memhooks', 'dropHostCopy', 'detachDecoded', 'a refused call'].includes(kind.name)) staleCopies.delete(p);
          kind.run(p, random);
        }
        expect(reported(), `seed ${seed}, after\n${log.slice(-8).join('\n')}`).toEqual(recount(params, base));
      }
      for (const p of params) p.dispose();
      expect(reported()).toEqual(base);
    }, { label: `seed ${seed}` });
  });

  it('reached every kind of step from every storage that matters', () => {
    expect(MUST_REACH.filter((combo) => !reached.has(combo))).toEqual([]);
  });
});
