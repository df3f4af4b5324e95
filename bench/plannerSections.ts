/**
 * The planner benchmark's tables: per subject, one row per budget (the plan, predicted against measured, the
 * brute-force best and the ratio, each target marked met or not) and one row per candidate the brute force measured.
 */
import type { PlanMeasurement } from '../src/index.js';
import { countOf, median, target, type SectionResult, type Target } from './framework.js';
import type { CandidateTiming } from './plannerBruteForce.js';

/** What one budget gave: a verified plan, or the planner's refusal. */
export interface BudgetOutcome {
  fraction: number;
  budget: number;
  chosen?: string;
  lossless?: boolean;
  verified?: PlanMeasurement;
  /** Why the planner refused (PLAN_INFEASIBLE), in a few words, and its whole message. */
  refused?: string;
  message?: string;
}

export interface SubjectRun {
  model: string;
  title: string;
  call: string;
  weightBytes: number;
  residentPeak: number;
  rounds: number;
  outcomes: BudgetOutcome[];
  timings: Map<string, CandidateTiming>;
  leaked: number;
  /** Max abs diff of the subject's output after every candidate was removed, against the resident output. */
  restoredDiff: number;
}

/** The issue's targets. */
export const TIME_TOLERANCE = 0.25;
export const BEST_RATIO_LIMIT = 1.1;

const MB = 1e6;
const mark = (ok: boolean): string => (ok ? 'yes' : '**no**');
const pct = (f: number): string => `${Math.round(f * 100)}%`;
const key = (name: string): string => name.replace(/[^a-z0-9]+/gi, '_');

/** Candidates measured without error whose every measured peak is within `budget`. */
function fitting(run: SubjectRun, budget: number): CandidateTiming[] {
  return [...run.timings.values()].filter((t) => t.error === undefined && t.ms.length > 0 && t.peakDeviceBytes <= budget);
}

/** The fastest measured candidate within the budget (median over rounds). */
export function bruteForceBest(run: SubjectRun, budget: number): CandidateTiming | undefined {
  return fitting(run, budget).sort((a, b) => median(a.ms) - median(b.ms))[0];
}

/** Median over rounds of a[r] / b[r]: measured side by side, round by round. */
function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

interface RowResult {
  row: Array<string | number>;
  peakOverBudget: number;
  timeOff: number;
  bestRatio: number;
  refusedWithFit: boolean;
}

function budgetRow(run: SubjectRun, o: BudgetOutcome, metrics: Record<string, number>): RowResult {
  const best = bruteForceBest(run, o.budget);
  const head = [pct(o.fraction), o.budget / MB];
  if (o.refused !== undefined || o.verified === undefined || o.chosen === undefined) {
    // A refusal is right only when nothing the brute force measured fits either.
    const verdict = best === undefined ? 'n/a: no candidate measured fits either' : `**no**: "${best.name}" fits`;
    const row = [...head, `refused: ${o.refused ?? ''}`, '—', '—', verdict, '—', '—', '—', '—', '—', best?.name ?? '—', best === undefined ? '—' : median(best.ms), '—', '—', '—'];
    return { row, peakOverBudget: 0, timeOff: 0, bestRatio: 0, refusedWithFit: best !== undefined };
  }
  const v = o.verified;
  const own = run.timings.get(o.chosen);
  const ownMs = own !== undefined && own.ms.length > 0 ? median(own.ms) : v.measured.ms;
  // The stricter of verify's one call and the brute force's rounds of the same candidate.
  const measuredPeak = Math.max(v.measured.peakDeviceBytes, own?.peakDeviceBytes ?? 0);
  const timeOff = Math.abs(v.predicted.ms / ownMs - 1);
  const ratio = best === undefined || own === undefined || own.ms.length === 0 ? NaN : pairedRatio(own.ms, best.ms);
  const k = `${Math.round(o.fraction * 100)}`;
  Object.assign(metrics, {
    [`budget_${k}`]: o.budget,
    [`predictedPeak_${k}`]: v.predicted.peakDeviceBytes,
    [`measuredPeak_${k}`]: measuredPeak,
    [`predictedMs_${k}`]: v.predicted.ms,
    [`measuredMs_${k}`]: ownMs,
    [`plannedOverBest_${k}`]: ratio,
  });
  const row = [
    ...head,
    o.chosen,
    v.predicted.peakDeviceBytes / MB,
    measuredPeak / MB,
    mark(measuredPeak <= o.budget),
    v.predicted.ms,
    v.measured.ms,
    ownMs,
    v.predicted.ms / ownMs,
    mark(timeOff <= TIME_TOLERANCE),
    best?.name ?? '— (none measured fits)',
    best === undefined ? '—' : median(best.ms),
    Number.isNaN(ratio) ? '—' : ratio,
    Number.isNaN(ratio) ? '**no**' : mark(ratio <= BEST_RATIO_LIMIT),
    v.bitwise === undefined ? '—' : mark(v.bitwise),
  ];
  return { row, peakOverBudget: measuredPeak / o.budget, timeOff, bestRatio: Number.isNaN(ratio) ? Infinity : ratio, refusedWithFit: false };
}

function checkOf(run: SubjectRun, outcomes: readonly BudgetOutcome[]): SectionResult['check'] {
  const lossless = [...run.timings.values()].filter((t) => t.lossless && t.error === undefined);
  const notBitwise = outcomes.some((o) => o.lossless === true && o.verified?.bitwise === false);
  const diff = Math.max(run.restoredDiff, ...lossless.map((t) => t.maxAbsDiff), notBitwise ? Infinity : 0);
  return { maxAbsDiff: diff, tolerance: 0, against: 'the resident output (every lossless candidate, and the subject after all were removed)', leakedTensors: run.leaked };
}

/** The planner's refusals, word for word, for the description under the table. */
function refusals(outcomes: readonly BudgetOutcome[]): string {
  const refused = outcomes.filter((o) => o.message !== undefined);
  return refused.length === 0 ? '' : ` The planner's refusals, word for word: ${refused.map((o) => `at ${pct(o.fraction)}: "${o.message}"`).join('; ')}`;
}

export function plansSection(run: SubjectRun): SectionResult {
  const metrics: Record<string, number> = { residentPeakBytes: run.residentPeak, weightBytes: run.weightBytes };
  const results = run.outcomes.map((o) => budgetRow(run, o, metrics));
  const worst = (f: (r: RowResult) => number): number => Math.max(0, ...results.map(f));
  const targets: Target[] = [
    target('measured peak / budget, worst budget', worst((r) => r.peakOverBudget), 1, '×'),
    target('predicted time off measured, worst budget', worst((r) => r.timeOff) * 100, TIME_TOLERANCE * 100, '%'),
    target('planned / brute-force best, worst budget', worst((r) => r.bestRatio), BEST_RATIO_LIMIT, '×'),
    target('budgets refused although a measured candidate fits', results.filter((r) => r.refusedWithFit).length, 0, 'budgets'),
  ];
  return {
    id: `${run.model}-plans`,
    title: `Plans: ${run.title}`,
    description:
      `${run.model}: ${(run.weightBytes / MB).toFixed(2)} MB of weights, resident peak ${(run.residentPeak / MB).toFixed(2)} MB on ${run.call} ` +
      '(peaks as plan.verify() counts them: the weights on the device and the call\'s activations, above every other device byte when the call starts, such as its input). ' +
      'Budgets are fractions of that peak. ' +
      'Predicted: the chosen candidate\'s prediction; measured peak: the larger of plan.verify()\'s and the brute force\'s for the same candidate; ' +
      `time: plan.verify()'s one call, and the median of the brute force's ${countOf(run.rounds, 'round')} of the chosen candidate, which the ±${TIME_TOLERANCE * 100}% target uses. ` +
      `Best: the fastest candidate whose measured peak is within the budget; planned / best is the median of per-round ratios (target ≤ ${BEST_RATIO_LIMIT}×).` +
      refusals(run.outcomes),
    table: {
      columns: [
        'budget', 'budget MB', 'chosen', 'predicted peak MB', 'measured peak MB', 'peak ≤ budget', 'predicted ms', 'verify ms',
        'measured ms (median)', 'predicted / measured', `within ±${TIME_TOLERANCE * 100}%`, 'brute-force best', 'best ms', 'planned / best',
        `≤ ${BEST_RATIO_LIMIT}×`, 'bitwise',
      ],
      rows: results.map((r) => r.row),
    },
    samples: {},
    metrics,
    targets,
    check: checkOf(run, run.outcomes),
  };
}

export function bruteForceSection(run: SubjectRun): SectionResult {
  const timings = [...run.timings.values()];
  const resident = run.timings.get('resident');
  const rows = timings.map((t) => {
    if (t.error !== undefined) return [t.name, t.lossless ? 'yes' : 'no', t.predicted.peakDeviceBytes / MB, '—', t.predicted.ms, '—', '—', '—', '—', `failed: ${t.error}`];
    const ms = median(t.ms);
    const fits = run.outcomes.filter((o) => t.peakDeviceBytes <= o.budget).map((o) => pct(o.fraction));
    return [
      t.name,
      t.lossless ? 'yes' : 'no',
      t.predicted.peakDeviceBytes / MB,
      t.peakDeviceBytes / MB,
      t.predicted.ms,
      ms,
      t.predicted.ms / ms,
      resident === undefined || resident.ms.length === 0 ? '—' : pairedRatio(t.ms, resident.ms),
      fits.length === 0 ? 'none' : fits.join(', '),
      t.maxAbsDiff,
    ];
  });
  return {
    id: `${run.model}-brute-force`,
    title: `Brute force: every candidate on ${run.title}`,
    description:
      `Every candidate of the plans above (each once, by name), applied with candidate.apply(), one untimed and one timed call under memory.track, removed; ` +
      `${countOf(run.rounds, 'round')}, candidates interleaved with a rotating start. Predicted values are from the first plan that listed the candidate ` +
      '(a partial-residency candidate is sized for its budget). "fits" lists the budgets its measured peak is within.',
    table: {
      columns: ['candidate', 'lossless', 'predicted peak MB', 'measured peak MB', 'predicted ms', 'measured ms (median)', 'predicted / measured', 'ratio to resident', 'fits', 'max abs diff'],
      rows,
    },
    samples: Object.fromEntries(timings.map((t) => [t.name, t.ms.map((x) => x * 1e6)])),
    metrics: Object.fromEntries(timings.flatMap((t) => (t.ms.length === 0 ? [] : [[`ms_${key(t.name)}`, median(t.ms)], [`peakDeviceBytes_${key(t.name)}`, t.peakDeviceBytes]]))),
    targets: [],
    check: checkOf(run, []),
  };
}
