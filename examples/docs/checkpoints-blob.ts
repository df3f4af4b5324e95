import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsSource, saveSafetensorsSync, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const dir = mkdtempSync(join(tmpdir(), 'memhooks-blob-'));
const path = join(dir, 'w.safetensors');
saveSafetensorsSync(path, { w: { dtype: 'F32', shape: [2, 2], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) } });

// In a page, a File from <input type="file"> or a drop; here one made from the file's bytes.
const picked = new File([readFileSync(path)], 'w.safetensors');
const file = await SafetensorsSource.open(picked);           // reads the header with one slice()
const w = await file.read('w');                               // one slice() of exactly the tensor
w.print();
w.dispose();
file.close();
rmSync(dir, { recursive: true, force: true });
