import { InvalidArgumentError } from '../base/errors.js';
import type { LowPrecisionDtype } from '../dtypes/formats.js';
import { describeValue } from '../models/paths.js';
import { parseSize } from '../runtime/size.js';
import { checkOptionKeys } from '../strategies/optionKeys.js';
import type { PlanMemoryOptions } from '../pipelines/planSlot.js';

/**
 * The fraction of the device budget the planner keeps free by default: a candidate fits when its predicted
 * peak is at most budget × (1 − margin). docs/planner.md ("The margin") says why 10%.
 */
export const DEFAULT_MARGIN = 0.1;

/** What allowLossy names, as layerwise casting's storage dtypes. */
export const LOSSY_DTYPES = { bf16: 'bfloat16', fp8: 'float8_e4m3fn' } as const satisfies Record<string, LowPrecisionDtype>;
export type LossyName = keyof typeof LOSSY_DTYPES;

/** Checked options, sizes in bytes. */
export interface PlanConfig {
  readonly deviceBudget: number;
  readonly hostBudget: number | undefined;
  readonly offloadDir: string | undefined;
  readonly allowLossy: LossyName | undefined;
  readonly sample: () => unknown;
  readonly margin: number;
  /** budget × (1 − margin): the most a fitting candidate may predict. */
  readonly usableBytes: number;
}

const KEYS = ['deviceBudget', 'hostBudget', 'offloadDir', 'allowLossy', 'sample', 'margin'] as const;

const fail = (option: string, message: string): InvalidArgumentError => new InvalidArgumentError(`planMemory: option \`${option}\` ${message}`);

/** Checks every option before the planner runs anything; throws an InvalidArgumentError naming the option. */
export function resolvePlanOptions(options: PlanMemoryOptions): PlanConfig {
  const o = checkOptionKeys('planMemory', options, KEYS) as Partial<PlanMemoryOptions>;
  if (options === undefined) throw new InvalidArgumentError('planMemory(root, options) needs options: at least { deviceBudget, sample }.');
  if (o.deviceBudget === undefined) throw fail('deviceBudget', "is required: the device memory the plan must fit, e.g. '300MB'.");
  const deviceBudget = parseSize(o.deviceBudget, 'planMemory deviceBudget');
  if (deviceBudget <= 0) throw fail('deviceBudget', 'must be more than 0 bytes.');
  const hostBudget = o.hostBudget === undefined ? undefined : parseSize(o.hostBudget, 'planMemory hostBudget');
  if (typeof o.sample !== 'function') {
    throw fail('sample', `must be a function that runs one representative call (e.g. () => model.forward(x)), got ${describeValue(o.sample)}.`);
  }
  const dir = o.offloadDir;
  if (dir !== undefined && (typeof dir !== 'string' || dir.trim() === '')) throw fail('offloadDir', `must be a folder path (a non-empty string), got ${describeValue(dir)}.`);
  const lossy = o.allowLossy;
  if (lossy !== undefined && !Object.hasOwn(LOSSY_DTYPES, lossy)) {
    throw fail('allowLossy', `must be 'bf16' or 'fp8' (the casting candidates it allows), got ${JSON.stringify(lossy)}. Leave it out to plan lossless strategies only.`);
  }
  const margin = o.margin ?? DEFAULT_MARGIN;
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0 || margin >= 1) {
    throw fail('margin', `must be a fraction of the budget in [0, 1) kept free, got ${String(margin)}. The default is ${DEFAULT_MARGIN}.`);
  }
  return Object.freeze({
    deviceBudget,
    hostBudget,
    offloadDir: dir,
    allowLossy: lossy,
    sample: o.sample,
    margin,
    usableBytes: Math.floor(deviceBudget * (1 - margin)),
  });
}
