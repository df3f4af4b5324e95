import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiffusionPipeline } from 'memhooks/zoo';
import { useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const dir = mkdtempSync(join(tmpdir(), 'memhooks-zoo-'));
try {
  // 'tiny' keeps the example fast; 'xl' (4.7 GB) runs the same way, one shard in host memory at a time.
  const pipe = DiffusionPipeline.create('tiny', { tier: 'disk', dir });
  pipe.enableGroupOffload({ offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true });
  const image = pipe.generate({ steps: 4 });
  console.log(image.shape);
  image.dispose();
  pipe.removeAllHooks(); // every weight back on its own file: nothing comes onto the device
  pipe.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true }); // the weight files are the caller's
}
