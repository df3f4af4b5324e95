import * as tf from '@tensorflow/tfjs-core';
import * as fs from '../base/platform/fs.js';
import { join } from '../base/platform/path.js';
import { randomHex } from '../base/platform/system.js';
import { Parameter } from '../models/Parameter.js';

/**
 * What moving weights costs on this backend, measured once per backend (per folder for disk) in this process
 * and cached: the planner's time prediction multiplies the bytes a candidate moves per call by these.
 */
export interface TransferCosts {
  /** Milliseconds per byte uploaded (host → device, through Parameter.toDevice as group offloading does). */
  readonly msPerByte: number;
  /** Milliseconds per weight uploaded, beside its bytes (a small weight's upload minus its use when resident). */
  readonly msPerUpload: number;
}

const ROWS = 1024;
const COLS = 2048;
const uploads = new Map<string, TransferCosts>();
const diskReads = new Map<string, number>();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * One weight's onload, use and offload (what a group costs per call) against its use while resident: the
 * median over `rounds` after a warm-up, in ms. The values are ones no kernel can skip.
 */
function onloadMs(rows: number, cols: number, rounds: number): number {
  const data = new Float32Array(rows * cols).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const moving = Parameter.fromHost(data, [rows, cols]);
  const resident = new Parameter(tf.tensor2d(data, [rows, cols]));
  const x = tf.ones([1, rows]);
  const fresh: number[] = [];
  const warm: number[] = [];
  try {
    for (let r = 0; r <= rounds; r++) {
      let t0 = performance.now();
      moving.toDevice({ keepHostCopy: true });
      tf.tidy(() => void tf.matMul(x, moving.read()).dataSync());
      moving.toHost();
      const a = performance.now() - t0;
      t0 = performance.now();
      tf.tidy(() => void tf.matMul(x, resident.read()).dataSync());
      const b = performance.now() - t0;
      if (r > 0) {
        fresh.push(a);
        warm.push(b);
      }
    }
  } finally {
    tf.dispose(x);
    moving.dispose();
    resident.dispose();
  }
  return Math.max(0, median(fresh) - median(warm));
}

/** The upload costs of the active backend, measured at the first call in this process (about 0.1–1 s). */
export function uploadCosts(): TransferCosts {
  const backend = tf.getBackend();
  let costs = uploads.get(backend);
  if (costs === undefined) {
    const small = onloadMs(16, 16, 15);
    const big = onloadMs(ROWS, COLS, 5);
    costs = Object.freeze({ msPerUpload: small, msPerByte: Math.max(0, big - small) / (ROWS * COLS * 4) });
    uploads.set(backend, costs);
  }
  return costs;
}

/**
 * Milliseconds per byte read from a file in `dir` (written there, read back, removed), cached per folder.
 * The operating system's cache may serve the read: this is the cost of reading back what was just
 * offloaded, as group offloading does, not of a cold disk.
 */
export function diskReadMsPerByte(dir: string): number {
  let cost = diskReads.get(dir);
  if (cost !== undefined) return cost;
  fs.mkdirSync(dir, { recursive: true });
  const path = join(dir, `.memhooks-plan-probe-${randomHex(6)}`);
  const bytes = new Uint8Array(ROWS * COLS * 4).map((_, i) => i & 0xff);
  const times: number[] = [];
  try {
    const fd = fs.openSync(path, 'w');
    try {
      fs.writeSync(fd, bytes, 0, bytes.length);
    } finally {
      fs.closeSync(fd);
    }
    for (let r = 0; r < 3; r++) {
      const into = new Uint8Array(bytes.length);
      const t0 = performance.now();
      const rd = fs.openSync(path, 'r');
      try {
        fs.readSync(rd, into, 0, into.length, 0);
      } finally {
        fs.closeSync(rd);
      }
      times.push(performance.now() - t0);
    }
  } finally {
    fs.rmSync(path, { force: true });
  }
  cost = median(times) / bytes.length;
  diskReads.set(dir, cost);
  return cost;
}
