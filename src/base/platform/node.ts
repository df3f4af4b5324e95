/**
 * The Node platform: the seam of Platform.ts served by Node's built-in modules. With src/cli/, this is the
 * only place in the library that imports `node:*` (.dependency-cruiser.cjs checks it), so a browser
 * bundle, which never reaches this file, holds no Node built-in.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { freemem, homedir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { Platform, WorkerStarter } from './Platform.js';

const run = promisify(execFile);

/** The worker's host in Node: its parent port, node:fs for read jobs and Node's sha256 (CommonJS, run with eval). */
const NODE_HOST_BINDING = `const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const host = {
  onMessage: (handler) => parentPort.on('message', handler),
  post: (reply, transfer) => parentPort.postMessage(reply, transfer),
  files: require('node:fs'),
  createHash: (algorithm) => crypto.createHash(algorithm),
};`;

const nodeWorker: WorkerStarter = {
  hostBinding: NODE_HOST_BINDING,
  bootsWhileBlocked: true,
  start(source, name, onGone, onMessage) {
    const w = new Worker(source, { eval: true, name });
    w.on('error', onGone);
    w.on('exit', onGone);
    if (onMessage !== undefined) w.on('message', onMessage);
    // Never keeps the process alive by itself: a handle that is never removed must not hang an exiting program.
    // After the listeners: a 'message' listener added later would ref the worker's port again.
    w.unref();
    return {
      postMessage: (message, transfer) => w.postMessage(message, transfer),
      terminate: () => void w.terminate(),
    };
  },
};

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const nodePlatform: Platform = {
  name: 'node',
  files: fs,
  filesAsync: fsp,
  path,
  createHash: (algorithm) => createHash(algorithm),
  randomHex: (bytes) => randomBytes(bytes).toString('hex'),
  freeMemory: () => freemem(),
  homeDir: () => homedir(),
  env: (name) => process.env[name],
  pid: process.pid,
  isProcessAlive,
  async execFile(command, args, options) {
    const { stdout } = await run(command, [...args], { maxBuffer: options.maxBuffer, windowsHide: true });
    return { stdout: String(stdout) };
  },
  removeProcessListeners(event, test) {
    // As a plain emitter: both events at once, without the per-event listener types.
    const emitter: NodeJS.EventEmitter = process;
    let removed = 0;
    for (const listener of emitter.listeners(event)) {
      if (!test(listener)) continue;
      emitter.removeListener(event, listener as (...args: unknown[]) => void);
      removed++;
    }
    return removed;
  },
  worker: nodeWorker,
};
