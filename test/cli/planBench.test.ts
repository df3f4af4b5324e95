import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useBackend } from '../helpers/backends.js';

describe('memhooks bench planner --smoke', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'memhooks-plan-bench-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await useBackend('cpu');
  });

  it.each(['wasm', 'cpu'])('on %s: plans zoo tiny at half its resident peak, verifies it within the budget, and brute-forces every candidate', async (backend) => {
    const { code, out, err } = await runCli('bench', 'planner', '--smoke', '--backend', backend, '--out', dir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('[planner]');
    const json = JSON.parse(await readFile(join(dir, `planner${backend === 'wasm' ? '' : `.${backend}`}.json`), 'utf8'));
    expect(json.sections.map((s: { id: string }) => s.id)).toEqual(['zoo:tiny-plans', 'zoo:tiny-brute-force']);
    for (const s of json.sections) {
      expect(s.skipped).toBeUndefined();
      // Every lossless candidate and the restored subject are bitwise the resident output; nothing leaked.
      expect(s.check.maxAbsDiff).toBe(0);
      expect(s.check.leakedTensors).toBe(0);
    }
    const [plans, brute] = json.sections;
    const column = (table: { columns: string[]; rows: unknown[][] }, name: string): unknown[] => table.rows.map((r) => r[table.columns.indexOf(name)]);
    expect(column(plans.table, 'budget')).toEqual(['50%']);
    const chosen = column(plans.table, 'chosen')[0] as string;
    // The plan's measured peak is within its budget: the one target that is never a matter of timing noise.
    expect(column(plans.table, 'peak ≤ budget')).toEqual(['yes']);
    expect(plans.targets.map((t: { what: string }) => t.what)).toEqual([
      'measured peak / budget, worst budget',
      'predicted time off measured, worst budget',
      'planned / brute-force best, worst budget',
      'budgets refused although a measured candidate fits',
    ]);
    expect(plans.targets[0].pass).toBe(true);
    // The brute force measured the chosen candidate among the others, resident included.
    const names = column(brute.table, 'candidate');
    expect(names).toContain(chosen);
    expect(names).toContain('resident');
    expect(names).toContain('model offload chain');
    const md = await readFile(join(dir, `planner${backend === 'wasm' ? '' : `.${backend}`}.md`), 'utf8');
    expect(md).toContain('| budget | budget MB | chosen |');
  });
});
