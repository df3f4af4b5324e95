/**
 * `memhooks bench browser-disk`: a model bigger than the tab. In headless Chromium (Debian's /usr/bin/chromium,
 * SwiftShader), a page served cross-origin isolated (COOP/COEP) starts a dedicated Worker that generates the zoo
 * pipeline straight into the Origin Private File System, group-offloads it (block level, one block per group, with
 * stream) and makes one image on webgl, as bench/beyondTheCap.ts does in Node from real files. The page samples the
 * JS heaps of itself and of its Worker (performance.measureUserAgentSpecificMemory); the Worker measures time, GPU
 * bytes (textures in use plus tfjs' free pool), its own performance.memory and the OPFS usage. A smaller size runs
 * on both tiers (OPFS, host memory) for comparison; `--smoke` runs "tiny" on both.
 *
 * It runs from a checkout of the repository (the page is bundled from its sources by Vite).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import type { BrowserContext } from 'playwright';
import type { DiskPageResult, DiskPageRun } from './browser/disk.protocol.js';
import { HeapSampler, type HeapPeaks } from './browserDiskHeap.js';
import { target, type BenchContext, type Benchmark, type SectionResult, type Target } from './framework.js';

const PAGE = 'bench/browser/disk.html';
/** The model Worker's script: the heap sampler tells it from the transfer worker and the OPFS server by it. */
const WORKER_SCRIPT = 'disk.worker';
const MB = 1e6;

/** The targets of issue #27 for the xl pipeline, in bytes. */
const XL_MAX_JS_HEAP_MB = 300;
const XL_MAX_GPU_MB = 700;

/** What bench/browser/chromium.mjs exports that this side uses. */
interface PageTools {
  CHROMIUM_PATH: string;
  CHROMIUM_ARGS: readonly string[];
  serveWithVite(config: Record<string, unknown>): Promise<{ server: { close(): Promise<void> }; base: string }>;
}

/**
 * Beyond the repository's flags: measureUserAgentSpecificMemory answers at once instead of at the next garbage
 * collection (up to 20 s later, and never while the Worker computes), and performance.memory is not rounded.
 */
const MEMORY_FLAGS = ['--enable-blink-features=ForceEagerMeasureMemory', '--enable-precise-memory-info'];

function repositoryRoot(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, PAGE))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`memhooks bench browser-disk runs from a checkout of the memhooks repository: no ${PAGE} in ${process.cwd()} or above it.`);
    }
  }
}

/**
 * Opens the page in a persistent profile (a fresh folder, removed afterwards): Playwright's ordinary contexts are
 * off the record, whose storage (OPFS included) lives in memory with a small quota.
 */
async function runPage(root: string, runs: readonly RunSpec[], ctx: BenchContext): Promise<{ page: DiskPageResult; heaps: HeapPeaks[] }> {
  const tools = (await import(join(root, 'bench', 'browser', 'chromium.mjs'))) as PageTools;
  const { chromium } = await import('playwright');
  const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
  const { server, base } = await tools.serveWithVite({
    root,
    cacheDir: join(root, '.cache', 'vite-bench-browser-disk'),
    optimizeDeps: { entries: [PAGE, 'bench/browser/disk.worker.ts'] },
    server: { headers: isolation },
  });
  const profile = mkdtempSync(join(os.tmpdir(), 'memhooks-browser-disk-'));
  try {
    const context: BrowserContext = await chromium.launchPersistentContext(profile, {
      executablePath: tools.CHROMIUM_PATH,
      headless: true,
      args: [...tools.CHROMIUM_ARGS, ...MEMORY_FLAGS],
    });
    try {
      const page = await context.newPage();
      const heaps = await HeapSampler.start(await context.newCDPSession(page), WORKER_SCRIPT, runs.map((r) => r.collect));
      page.on('console', (m) => {
        if (m.text().startsWith('[vite]')) return;
        ctx.log(`page: ${m.text()}`);
        // "xl on disk: image at 140.2 s": the Worker's phase, under which the heap samples are counted from now on.
        const phase = /: (\w+) at [\d.]+ s$/.exec(m.text())?.[1];
        if (phase !== undefined) heaps.phase = phase;
      });
      page.on('pageerror', (e) => ctx.log(`page error: ${e.message}`));
      try {
        await page.goto(`${base}${PAGE}?backend=webgl&runs=${runs.map((r) => r.spec).join(',')}`);
        await page.waitForFunction(() => (globalThis as { __memhooksDiskBench?: unknown }).__memhooksDiskBench !== undefined, null, { timeout: 0, polling: 1000 });
      } finally {
        heaps.stop();
      }
      const result = (await page.evaluate(() => (globalThis as { __memhooksDiskBench?: unknown }).__memhooksDiskBench)) as DiskPageResult;
      if (result.error !== undefined) throw new Error(`the page failed: ${result.error}`);
      return { page: result, heaps: heaps.runs };
    } finally {
      await context.close();
    }
  } finally {
    rmSync(profile, { recursive: true, force: true });
    await server.close();
  }
}

const mb = (bytes: number | null | undefined): number | string => (bytes === null || bytes === undefined || bytes === 0 ? '—' : bytes / MB);

/** A run of the page (`size:tier`), and whether its heap samples collect the Worker's garbage first. */
interface RunSpec {
  spec: string;
  collect: boolean;
}

/** A run as the page saw it, with the heap peaks sampled from Node. */
interface Measured extends DiskPageRun {
  heap: HeapPeaks | undefined;
  collect: boolean;
}

/** The run's name in metrics and samples: its tier, and `_gc` when its heap samples collected garbage first. */
const key = (run: Measured): string => `${run.request.tier}${run.collect ? '_gc' : ''}`;

/**
 * The highest JS heap of the run, Worker or page, by either measurement (the DevTools protocol's usedSize +
 * ArrayBuffers, or measureUserAgentSpecificMemory, which counts a little more of a thread when it answers);
 * null when the Worker was never sampled.
 */
function peakJsHeap(run: Measured): number | null {
  const h = run.heap;
  if (h === undefined || h.workerSamples === 0) return null;
  return Math.max(h.workerBytes, h.pageBytes, run.memory.peakWorkerBytes ?? 0, run.memory.peakPageBytes ?? 0);
}

function row(run: Measured): Array<string | number> {
  const r = run.result;
  const level = run.request.offloadType === 'leaf_level' ? 'one leaf module per group' : 'one block per group';
  const tier = `${run.request.tier === 'disk' ? 'OPFS files (tier disk)' : 'host memory (tier host)'}, ${level}${run.collect ? ', garbage collected before each heap sample' : ''}`;
  if (r === undefined) return [tier, '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', `failed: ${(run.error ?? '').split('\n')[0]!.slice(0, 300)}`];
  const h = run.heap;
  return [
    tier,
    r.weightBytes / MB,
    run.request.tier === 'disk' ? r.filesBytes / MB : '—',
    r.generateMs / 1000,
    r.imageMs / 1000,
    r.peakGpuBytes / MB,
    r.peakGpuHeldAbsoluteBytes / MB,
    mb(h?.workerBytes),
    mb(h?.workerBytesByPhase['generating']),
    mb(h?.workerBytesByPhase['image']),
    mb(h?.workerV8Bytes),
    mb(h?.pageBytes),
    mb(run.memory.peakWorkerBytes),
    `${r.finite ? 'finite' : 'NOT finite'} [${r.shape.join(', ')}], ${r.leakedTensors} tensors leaked; OPFS after cleanup ${((r.usageAfterCleanupBytes - r.usageBeforeBytes) / MB).toFixed(1)} MB above before`,
  ];
}

function metrics(runs: Measured[]): Record<string, number> {
  return Object.fromEntries(
    runs.flatMap((run) => {
      const t = key(run);
      const r = run.result;
      if (r === undefined) return [];
      return [
        ['weightMB', r.weightBytes / MB],
        [`${t}_filesMB`, r.filesBytes / MB],
        [`${t}_generateMs`, r.generateMs],
        [`${t}_msPerImage`, r.imageMs],
        [`${t}_peakGpuMB`, r.peakGpuBytes / MB],
        [`${t}_gpuHeldWholeRunMB`, r.peakGpuHeldAbsoluteBytes / MB],
        [`${t}_peakJsHeapMB`, (peakJsHeap(run) ?? NaN) / MB],
        [`${t}_workerJsHeapPeakMB`, (run.heap?.workerBytes ?? NaN) / MB],
        [`${t}_workerV8HeapPeakMB`, (run.heap?.workerV8Bytes ?? NaN) / MB],
        ...Object.entries(run.heap?.workerBytesByPhase ?? {}).map(([phase, bytes]) => [`${t}_workerJsHeapPeakMB_${phase}`, bytes / MB] as [string, number]),
        [`${t}_pageJsHeapPeakMB`, (run.heap?.pageBytes ?? NaN) / MB],
        [`${t}_heapSamples`, run.heap?.workerSamples ?? 0],
        [`${t}_measureUASMWorkerPeakMB`, (run.memory.peakWorkerBytes ?? NaN) / MB],
        [`${t}_measureUASMSamples`, run.memory.samples],
        [`${t}_peakHostLedgerMB`, r.peakHostLedgerBytes / MB],
      ];
    }),
  );
}

function description(runs: Measured[], page: DiskPageResult): string {
  const first = runs.find((r) => r.result !== undefined)?.result;
  const uasm = runs.map((r) => r.memory.method).find((m) => m !== 'measureUserAgentSpecificMemory') ?? 'it answered';
  return (
    `Headless Chromium (${page.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium'}), page cross-origin isolated: ${page.crossOriginIsolated}; ` +
    `${first?.device ?? 'the Worker did not start its backend'}. The line above names the CLI's own Node backend, not the page's. ` +
    'Each row is one fresh dedicated Worker: createDiffusionComponents(size, { tier }) straight into OPFS files (tier disk; the Worker blocks on the ' +
    'synchronous OPFS calls) or into host memory (tier host), then applyGroupOffloading with useStream on every component, one block per group ' +
    '(block_level, numBlocksPerGroup 1) or one leaf module per group (leaf_level) as the row says, ' +
    'then one image (one Euler step and the VAE decode), timed once (feasibility, not a median). SwiftShader renders on the CPU: times describe this ' +
    'machine, not a GPU. OPFS MB: navigator.storage.estimate() usage above its value before generating. Peak GPU MB: memory.track over the image, ' +
    "above what the GPU held when it started (textures in use plus tfjs' free pool); \"GPU held, whole run\" is memory.stats().peakDeviceBytes from " +
    'before generating, absolute. JS heap: the DevTools protocol\'s Runtime.getHeapUsage, sampled from Node every 200 ms in the model\'s Worker and ' +
    'in the page (V8 answers it by interrupt, mid-computation): V8 heap + ArrayBuffer/SharedArrayBuffer memory (over the whole run, while generating, ' +
    'and during the image), and the V8 heap alone; ' +
    'in the run marked so, each sample first collects the Worker\'s garbage (HeapProfiler.collectGarbage), so its peak is live memory. ' +
    'A dedicated Worker has no performance.memory; performance.measureUserAgentSpecificMemory() (last column, sampled by the page every 250 ms, ' +
    `${uasm}) answers for a Worker only between its tasks, never during the synchronous generation or image ("—": it never did), so it misses ` +
    'the peaks; the targets take the highest of every measurement. OPFS is emptied after each run.'
  );
}

function sizeSection(size: string, runs: Measured[], page: DiskPageResult, xl: boolean): SectionResult {
  const first = runs.find((r) => r.result !== undefined)?.result;
  const ok = runs.length > 0 && runs.every((r) => r.result !== undefined && r.result.finite && r.result.leakedTensors === 0);
  const targets: Target[] = [];
  const opfs = runs.find((r) => r.request.tier === 'disk' && !r.collect);
  if (xl && opfs !== undefined) {
    const heap = peakJsHeap(opfs);
    targets.push(target('xl from OPFS: peak JS heap (Worker or page)', heap === null ? Infinity : heap / MB, XL_MAX_JS_HEAP_MB, 'MB'));
    targets.push(target('xl from OPFS: peak GPU bytes (textures in use + free pool) during the image', opfs.result === undefined ? Infinity : opfs.result.peakGpuBytes / MB, XL_MAX_GPU_MB, 'MB'));
  }
  return {
    id: size,
    title: `Zoo pipeline "${size}"${first === undefined ? '' : `: ${(first.weightBytes / 1e9).toFixed(2)} GB of float32 weights`}, in a Worker of a page on webgl`,
    description: description(runs, page),
    table: {
      columns: [
        'weights on',
        'float32 weights MB',
        'OPFS MB',
        'generate s',
        's per image (1 step)',
        'peak GPU MB (image)',
        'GPU held, whole run MB',
        'Worker JS heap peak MB',
        'Worker JS heap peak, generating MB',
        'Worker JS heap peak, image MB',
        'Worker V8 heap peak MB',
        'page JS heap peak MB',
        'Worker, measureUASM peak MB',
        'output',
      ],
      rows: runs.map(row),
    },
    samples: Object.fromEntries(runs.filter((r) => r.result !== undefined).map((r) => [key(r), [r.result!.imageMs * 1e6]])),
    metrics: metrics(runs),
    targets,
    check: {
      maxAbsDiff: ok ? 0 : Infinity,
      tolerance: 0,
      against: 'every run completed with a finite image of the expected shape',
      leakedTensors: runs.reduce((n, r) => n + (r.result?.leakedTensors ?? 0), 0),
    },
  };
}

export const browserDiskBenchmark: Benchmark = {
  name: 'browser-disk',
  description: 'a model bigger than the tab: the zoo xl pipeline generated into OPFS and group-offloaded in a Worker of headless Chromium on webgl (JS heap, GPU bytes, time)',
  prepare: async () => void repositoryRoot(),
  async run(ctx: BenchContext) {
    const sizes = ctx.smoke ? ['tiny'] : ['base', 'xl'];
    // The smaller size on both tiers, the big one from OPFS only: in host memory it would not fit a tab. The smaller
    // size once more from OPFS with its Worker's garbage collected before each heap sample: what of the peak is live.
    const small = ctx.smoke ? 'tiny' : 'base';
    const runs: RunSpec[] = [
      { spec: `${small}:disk`, collect: false },
      { spec: `${small}:host`, collect: false },
      { spec: `${small}:disk`, collect: true },
      // xl one leaf module per group: one xl double block is 604 MB of float32, past the GPU target with its activations.
      ...(ctx.smoke ? [] : [{ spec: 'xl:disk:leaf', collect: false }]),
    ];
    ctx.log(`headless Chromium, a Worker on webgl: ${runs.map((r) => `${r.spec}${r.collect ? ' (garbage collected before each heap sample)' : ''}`).join(', ')}`);
    const { page, heaps } = await runPage(repositoryRoot(), runs, ctx);
    const measured: Measured[] = page.runs.map((r, i) => ({ ...r, heap: heaps[i], collect: runs[i]!.collect }));
    const sections = sizes.map((size) => sizeSection(size, measured.filter((r) => r.request.size === size), page, size === 'xl'));
    return { name: 'browser-disk', title: 'browser-disk: a model bigger than the tab, from OPFS in a Worker on webgl', sections };
  },
};
