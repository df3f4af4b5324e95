// Serves a pipeline folder (model_index.json and one sub-folder per component, as pipeline.savePretrained writes
// it) from a RangeServer, as a static file server serves a folder tree.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RangeServer } from './rangeServer.js';

/** Serves `dir` and each of its sub-folders at `<prefix>/…`; returns the pipeline's folder URL (with its slash). */
export function servePipelineDir(server: RangeServer, dir: string, prefix: string): string {
  for (const name of readdirSync(dir)) {
    if (statSync(join(dir, name)).isDirectory()) server.serveDir(join(dir, name), `${prefix}/${name}`);
  }
  return server.serveDir(dir, prefix);
}

/** Stops serving everything under `prefix` (a component folder a test removes). */
export function unserve(server: RangeServer, prefix: string): void {
  for (const path of [...server.files.keys()]) if (path.startsWith(`${prefix}/`)) server.files.delete(path);
}
