import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from 'memhooks';
import { Denoiser } from './checkpoints-denoiser.js';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

const dir = mkdtempSync(join(tmpdir(), 'memhooks-denoiser-'));
const model = new Denoiser(64, { depth: 4 });
await model.savePretrained(dir, { maxShardSize: '40KB' }); // e.g. '2GB' for a real model
console.log(readdirSync(dir)); // config.json, the shards and their index
model.dispose();
rmSync(dir, { recursive: true, force: true });
