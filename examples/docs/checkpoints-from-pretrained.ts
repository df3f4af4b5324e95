import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, useBackend } from 'memhooks';
import { Denoiser } from './checkpoints-denoiser.js';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

const dir = mkdtempSync(join(tmpdir(), 'memhooks-denoiser-'));
try {
  const saved = new Denoiser(64, { depth: 4 });
  await saved.savePretrained(dir);
  saved.dispose();

  const model = await Denoiser.fromPretrained(dir);               // everything on the device
  const any = await Module.fromPretrained(dir);                   // any registered class
  for (const m of [model, any]) m.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
