/**
 * `memhooks bench browser`: the `strategies` table of the zoo pipeline on `webgl` in headless Chromium (Debian's
 * /usr/bin/chromium with SwiftShader, never a downloaded browser). Vite serves bench/browser/strategies.html from
 * the repository's sources, the page measures (bench/browser/strategies.page.ts) and this side makes the tables with
 * the same columns as the wasm ones, plus the GPU bytes held between images. Device bytes are the GPU's: textures in
 * use plus tfjs' free pool (numBytesInGPUAllocated), as memhooks counts them on webgl.
 *
 * It runs from a checkout of the repository (the page is bundled from its sources; the published package has none):
 * the current directory or one above it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright';
import type { DiffusionSizeName } from '../src/zoo.js';
import type { BenchContext, Benchmark, SectionResult } from './framework.js';
import { CASTING_TOLERANCE, section, type Measured } from './strategies.js';
import { CASTING_VARIANTS, OFFLOADING_VARIANTS } from './strategyVariants.js';

const PAGE = 'bench/browser/strategies.html';

/** One variant's numbers in the page: bench/strategies.ts's, plus the device bytes held between two images. */
/** The page measures as the Node run does (bench/measureVariants.ts), what the GPU holds between images included. */
export type PageMeasured = Measured;

export interface PageStrategiesResult {
  backend: string;
  device: string;
  size: string;
  steps: number;
  rounds: number;
  uploadMsPerMiB: number;
  leftoverDeviceBytes: number;
  leftoverHostBytes: number;
  leakedTensors: number;
  offloading: Record<string, PageMeasured>;
  casting: Record<string, PageMeasured>;
}

/** What bench/browser/chromium.mjs exports (the one launcher the repository's scripts share). */
interface PageTools {
  launchChromium(): Promise<Browser>;
  serveWithVite(config: Record<string, unknown>): Promise<{ server: { close(): Promise<void> }; base: string }>;
}

/** The repository checkout this runs from: the current directory or the nearest one above it that holds the page. */
function repositoryRoot(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, PAGE))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`memhooks bench browser runs from a checkout of the memhooks repository: no ${PAGE} in ${process.cwd()} or above it.`);
    }
  }
}

/** Opens the page and returns its raw numbers. */
async function runPage(root: string, query: string, ctx: BenchContext): Promise<PageStrategiesResult> {
  // An absolute path: import() in the ESM build, require() of an ES module (Node ≥ 20.19) in the CommonJS one.
  const tools = (await import(join(root, 'bench', 'browser', 'chromium.mjs'))) as PageTools;
  const { server, base } = await tools.serveWithVite({ root, cacheDir: join(root, '.cache', 'vite-bench-browser'), optimizeDeps: { entries: [PAGE] } });
  try {
    const browser = await tools.launchChromium();
    try {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.text().startsWith('round ')) ctx.log(`page: ${m.text()}`);
      });
      await page.goto(`${base}${PAGE}?${query}`);
      await page.waitForFunction(() => (globalThis as { __memhooksStrategiesBench?: unknown }).__memhooksStrategiesBench !== undefined, null, { timeout: 0 });
      const result = (await page.evaluate(() => (globalThis as { __memhooksStrategiesBench?: unknown }).__memhooksStrategiesBench)) as PageStrategiesResult & { error?: string };
      if (result.error !== undefined) throw new Error(`the page failed: ${result.error}`);
      return result;
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
  }
}

const MB = 1e6;

/** A section with bench/strategies.ts's columns, and the GPU bytes held between images after them. */
function pageSection(id: string, title: string, description: string, names: readonly string[], measured: Record<string, PageMeasured>, r: PageStrategiesResult, tolerance: number): SectionResult {
  const variants = [...OFFLOADING_VARIANTS, ...CASTING_VARIANTS].filter((v, i, all) => names.includes(v.name) && all.findIndex((w) => w.name === v.name) === i);
  const results = new Map<string, Measured>(variants.map((v) => [v.name, measured[v.name]!]));
  const s = section(id, title, description, variants, results, r.uploadMsPerMiB / 2 ** 20, r.steps, tolerance, () => []);
  s.table.columns.push('GPU MB held between images');
  s.table.rows.forEach((row) => row.push(measured[String(row[0])]!.heldBetweenBytes / MB));
  for (const v of variants) s.metrics[`heldBetweenMB_${v.name.replace(/[^a-z0-9]+/gi, '_')}`] = measured[v.name]!.heldBetweenBytes / MB;
  s.check.leakedTensors = r.leakedTensors;
  return s;
}

export const browserBenchmark: Benchmark = {
  name: 'browser',
  description: 'the strategies table on webgl in headless Chromium (Debian chromium, SwiftShader): peak and held GPU bytes, time, output diff',
  // Before any benchmark of the run measures: outside a checkout of the repository this one cannot run.
  prepare: async () => void repositoryRoot(),
  async run(ctx: BenchContext) {
    const size: DiffusionSizeName = ctx.smoke ? 'tiny' : (ctx.size ?? 'small');
    const rounds = ctx.smoke ? 1 : Math.min(ctx.runs, 3);
    const steps = 2;
    ctx.log(`zoo pipeline "${size}" on webgl in headless Chromium: ${steps} steps per image, ${rounds} round(s)`);
    const r = await runPage(repositoryRoot(), `backend=webgl&size=${size}&steps=${steps}&rounds=${rounds}`, ctx);
    const common =
      `In headless Chromium on \`${r.backend}\` (${r.device}); the line above names the CLI's own Node backend, not the page's. ` +
      `Zoo pipeline "${size}" (${steps} Euler steps, then the VAE), one image per variant per round after an untimed one, ${rounds} round(s) interleaved. ` +
      'SwiftShader is a CPU rasterizer: these ratios describe the mechanism, not a real GPU\'s speed. ' +
      'Device MB are GPU bytes: the textures behind live tensors plus those tfjs keeps in its free pool (numBytesInGPUAllocated), ' +
      `above the ${r.leftoverDeviceBytes} bytes the page held before the pipeline existed. ` +
      `Efficiency = floor / measured, floor = resident time + bytes onloaded × the upload cost measured in this page (${r.uploadMsPerMiB.toFixed(2)} ms per MiB: texImage2D and the packing shader). ` +
      'The disk variants are left out: a page has no file system. GPU MB held between images: what the GPU holds after an image, its output freed, with the strategy still applied.';
    const sections = [
      pageSection('offloading', 'Offloading on webgl (bitwise)', common, Object.keys(r.offloading), r.offloading, r, 0),
      pageSection(
        'casting',
        'Layerwise casting on webgl (lossy)',
        `${common} Casting is lossy: images (values of order 1) differ from resident by the max abs diff shown; the check allows ${CASTING_TOLERANCE}.`,
        Object.keys(r.casting),
        r.casting,
        r,
        CASTING_TOLERANCE,
      ),
    ];
    return { name: 'browser', title: 'browser: every strategy on the zoo pipeline, on webgl in headless Chromium', sections };
  },
};
