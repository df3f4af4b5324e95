/**
 * The page side of `memhooks bench browser-disk` (bench/browserDisk.ts). Query: `?backend=webgl&runs=base:disk,base:host`
 * (size:tier in order, `:leaf` after one for leaf-level group offloading instead of one block per group). Each run gets a fresh dedicated Worker (disk.worker.ts: its own WebGL context, its own heap),
 * which generates the pipeline, offloads it and makes one image. Meanwhile this page samples memory: the JS heaps of
 * this page and of its Workers with performance.measureUserAgentSpecificMemory() (cross-origin isolated pages only;
 * Chromium answers it at its next garbage collection unless launched with ForceEagerMeasureMemory, which the Node side
 * does), and its own performance.memory.usedJSHeapSize. The raw numbers go to `globalThis.__memhooksDiskBench`.
 */
import type { DiskBenchTier, DiskPageResult, DiskPageRun, DiskRunRequest, PageMemory, WorkerMessage } from './disk.protocol.js';

interface Attribution {
  url?: string;
  scope?: string;
}
interface MemoryMeasurement {
  bytes: number;
  breakdown: Array<{ bytes: number; attribution: Attribution[]; types: string[] }>;
}
interface PageWorker {
  onmessage: ((event: { data: WorkerMessage }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
  postMessage(message: DiskRunRequest): void;
  terminate(): void;
}
interface PageGlobals {
  location: { search: string };
  navigator: { userAgent: string };
  crossOriginIsolated?: boolean;
  document: { getElementById(id: string): { textContent: string } | null };
  performance: { memory?: { usedJSHeapSize: number }; measureUserAgentSpecificMemory?: () => Promise<MemoryMeasurement> };
  Worker: new (url: URL, options: { type: 'module' }) => PageWorker;
  __memhooksDiskBench?: DiskPageResult;
}
const page = globalThis as unknown as PageGlobals;

const SAMPLE_EVERY_MS = 250;

/** JavaScript bytes of the model's Worker (its script is disk.worker) and of this page, in one measurement. */
function split(m: MemoryMeasurement): { worker: number; page: number } {
  let worker = 0;
  let pageBytes = 0;
  for (const entry of m.breakdown) {
    if (!entry.types.includes('JavaScript')) continue;
    for (const a of entry.attribution) {
      const share = entry.bytes / entry.attribution.length;
      if (a.scope === 'Window') pageBytes += share;
      else if (a.scope === 'DedicatedWorkerGlobalScope' && (a.url ?? '').includes('disk.worker')) worker += share;
    }
  }
  return { worker, page: pageBytes };
}

const max = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/** Samples memory until `done` resolves. */
async function sampleUntil(done: Promise<unknown>, phase: () => string, t0: number): Promise<PageMemory> {
  const measure = page.performance.measureUserAgentSpecificMemory?.bind(page.performance);
  const mem: PageMemory = {
    method: measure === undefined ? 'measureUserAgentSpecificMemory is missing (the page is not cross-origin isolated?)' : 'measureUserAgentSpecificMemory',
    samples: 0,
    peakWorkerBytes: null,
    peakPageBytes: null,
    peakPageUsedJsHeapBytes: null,
    timeline: [],
  };
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    mem.peakPageUsedJsHeapBytes = max(mem.peakPageUsedJsHeapBytes, page.performance.memory?.usedJSHeapSize ?? null);
    if (measure !== undefined) {
      try {
        const at = phase();
        const s = split(await measure());
        mem.samples++;
        mem.peakWorkerBytes = max(mem.peakWorkerBytes, s.worker);
        mem.peakPageBytes = max(mem.peakPageBytes, s.page);
        mem.timeline.push([Math.round(performance.now() - t0), at, s.worker, s.page]);
      } catch (error) {
        mem.method = `measureUserAgentSpecificMemory failed: ${String(error)}`;
      }
    }
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS))]).catch(() => undefined);
  }
  return mem;
}

async function runOne(request: DiskRunRequest): Promise<DiskPageRun> {
  const worker = new page.Worker(new URL('./disk.worker.ts', import.meta.url), { type: 'module' });
  let phase = 'starting';
  const t0 = performance.now();
  const done = new Promise<WorkerMessage & { kind: 'done' | 'error' }>((resolve) => {
    worker.onmessage = (event) => {
      const m = event.data;
      if (m.kind === 'phase') {
        phase = m.phase;
        console.log(`${request.size} on ${request.tier}: ${m.phase} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } else resolve(m);
    };
    worker.onerror = (event) => resolve({ kind: 'error', error: `the model's Worker failed: ${event.message ?? 'no message'}` });
  });
  worker.postMessage(request);
  const memory = await sampleUntil(done, () => phase, t0);
  const message = await done;
  worker.terminate();
  const wallMs = performance.now() - t0;
  return message.kind === 'done' ? { request, result: message.result, memory, wallMs } : { request, error: message.error, memory, wallMs };
}

async function main(): Promise<void> {
  const query = new URLSearchParams(page.location.search);
  const backend = query.get('backend') ?? 'webgl';
  const runs: DiskPageRun[] = [];
  for (const spec of (query.get('runs') ?? 'tiny:host').split(',')) {
    const [size, tier, leaf] = spec.split(':') as [string, DiskBenchTier, string | undefined];
    const run = await runOne({ size, tier, backend, dir: `/memhooks-bench/browser-disk-${size}`, offloadType: leaf === 'leaf' ? 'leaf_level' : 'block_level' });
    runs.push(run);
    console.log(`run ${spec}: ${run.error === undefined ? 'done' : `failed: ${run.error.split('\n').slice(0, 8).join('\n')}`}`);
  }
  const result: DiskPageResult = { crossOriginIsolated: page.crossOriginIsolated === true, userAgent: page.navigator.userAgent, runs };
  page.document.getElementById('out')!.textContent = JSON.stringify(result, null, 2);
  page.__memhooksDiskBench = result;
}

main().catch((error: unknown) => {
  page.__memhooksDiskBench = { crossOriginIsolated: page.crossOriginIsolated === true, userAgent: '', runs: [], error: String((error as Error)?.stack ?? error) };
});
