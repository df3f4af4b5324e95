import { beforeAll, describe, expect, it } from 'vitest';
import { quickstart } from '../../examples/quickstart.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

describe.each(BACKENDS)('the README quick start on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('upscales an image with group offloading and tiling: close to the untiled output, a lower peak, nothing leaked', async () => {
    await expectNoLeaks(async () => {
      // The README's 256² with 128-pixel tiles, scaled down to keep the suite fast (cpu is ~30× slower than wasm).
      const [side, tile] = backend === 'wasm' ? [128, 64] : [48, 32];
      const r = await quickstart(side, tile);
      expect(r.shape).toEqual([1, 2 * side, 2 * side, 3]);
      // Offloading is exact. Tiling blends overlapping tiles, and the upscaler sees farther than the overlap, so
      // pixels near tile borders saw less context than untiled: they differ by a few grey levels (of 255); the
      // mean difference stays below a quarter of one.
      expect(r.maxAbsDiff).toBeLessThan(16);
      expect(r.meanAbsDiff).toBeLessThan(0.25);
      expect(r.peakHooked).toBeLessThan(r.peakResident);
    });
  });
});
