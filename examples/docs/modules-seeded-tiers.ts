import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear, Sequential, useBackend, withParameterInit } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const build = () => new Sequential([new Linear(64, 256), new Linear(256, 64)]); // any module of built-in layers
const dir = mkdtempSync(join(tmpdir(), 'memhooks-init-'));
try {
  const onDevice = withParameterInit({ seed: 0 }, build);                  // tier 'device'
  const onHost   = withParameterInit({ tier: 'host', seed: 0 }, build);    // never on the device
  const onDisk   = withParameterInit({ tier: 'disk', dir, seed: 0 }, build);
  console.log(onDisk.memoryFootprint()); // { device: 0, host: 0, disk: <every byte> }
  for (const m of [onDevice, onHost, onDisk]) m.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true }); // the files are yours: disposing leaves them
}
