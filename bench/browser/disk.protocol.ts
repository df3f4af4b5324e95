/**
 * What the page of `memhooks bench browser-disk` (disk.page.ts), its model's Worker (disk.worker.ts) and the Node side
 * (bench/browserDisk.ts) tell each other. Types only.
 */

/** Where the pipeline's weights are generated: OPFS files under `dir` ('disk'), or host memory ('host'). */
export type DiskBenchTier = 'disk' | 'host';

/** One run: a fresh Worker generates `size` on `tier`, group-offloads it and makes one image. */
export interface DiskRunRequest {
  size: string;
  tier: DiskBenchTier;
  backend: string;
  /** OPFS folder of the generated weights (tier 'disk'): an absolute POSIX path from the OPFS root. */
  dir: string;
  /** Group offloading's granularity: one block per group (the default), or one leaf module per group. */
  offloadType: 'block_level' | 'leaf_level';
}

/** What the Worker measured itself, posted at the end of a run. */
export interface DiskRunResult {
  size: string;
  tier: DiskBenchTier;
  backend: string;
  /** The Worker's backend and device, in words (the WebGL renderer). */
  device: string;
  crossOriginIsolated: boolean;
  weightBytes: number;
  /** OPFS usage (navigator.storage.estimate) above the usage before generating, once generated; 0 on the host tier. */
  filesBytes: number;
  usageBeforeBytes: number;
  usageAfterCleanupBytes: number;
  generateMs: number;
  applyMs: number;
  imageMs: number;
  /** GPU bytes (textures in use + tfjs' free pool) above those held when the image started: memory.track's peak. */
  peakGpuBytes: number;
  /** GPU bytes held before the pipeline existed (the backend's own). */
  gpuBeforeBytes: number;
  /** memory.stats().peakDeviceBytes over the whole run (generation, apply, image), absolute. */
  peakGpuHeldAbsoluteBytes: number;
  /** memhooks' host ledger at its highest sample (generation and image). */
  peakHostLedgerBytes: number;
  /** Whether the Worker has performance.memory (Chromium gives it to pages only). */
  performanceMemoryInWorker: boolean;
  shape: number[];
  finite: boolean;
  leakedTensors: number;
}

/** What the Worker posts: phase changes (for the page's memory samples), then the result or an error. */
export type WorkerMessage =
  | { kind: 'phase'; phase: 'generating' | 'applying' | 'image' | 'cleanup' }
  | { kind: 'done'; result: DiskRunResult }
  | { kind: 'error'; error: string };

/** The page's own samples of one run, beside the Worker's result. */
export interface PageMemory {
  /** 'measureUserAgentSpecificMemory' when it answered, else why not. */
  method: string;
  /** Samples that came back during the run, and the highest bytes per scope among them ('JavaScript' types only). */
  samples: number;
  peakWorkerBytes: number | null;
  peakPageBytes: number | null;
  /** The page's performance.memory.usedJSHeapSize at its highest, or null where it does not exist. */
  peakPageUsedJsHeapBytes: number | null;
  /** Each sample: ms since the run started, phase, the Worker's and the page's bytes. */
  timeline: Array<[number, string, number | null, number | null]>;
}

export interface DiskPageRun {
  request: DiskRunRequest;
  result?: DiskRunResult;
  error?: string;
  memory: PageMemory;
  wallMs: number;
}

/** `globalThis.__memhooksDiskBench`, read by the Node side. */
export interface DiskPageResult {
  crossOriginIsolated: boolean;
  userAgent: string;
  runs: DiskPageRun[];
  error?: string;
}
