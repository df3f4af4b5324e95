import { describe, expect, it } from 'vitest';
import { memory } from '../../src/index.js';
import { measureUploadCost } from '../../bench/uploadCost.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

describe.each(BACKENDS)('benchmark leftovers on %s', (backend) => {
  it('the upload-cost probe that runs before the strategies sections leaves nothing on the device', async () => {
    await useBackend(backend);
    const before = memory.stats().deviceBytes;
    measureUploadCost(1);
    expect(memory.stats().deviceBytes).toBe(before);
  });
});
