import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The transfer worker starts from an inline source (no worker file to locate), so it must work from both
 * builds as it does from the sources the other tests run. `npm test` builds dist/ first; MEMHOOKS_DIST
 * points elsewhere (a helper's private build) when dist/ is not fresh.
 */
const root = join(import.meta.dirname, '..', '..', '..');
const dist = process.env.MEMHOOKS_DIST === undefined ? join(root, 'dist') : resolve(root, process.env.MEMHOOKS_DIST);

const SCRIPT = (load: string) => `
(async () => {
  const m = ${load};
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  class Net extends m.Module {
    constructor() { super(); this.layers = new m.Sequential([new m.Linear(8, 8), new m.Linear(8, 8), new m.Linear(8, 4)]); }
    forward(x) { return this.layers.forward(x); }
  }
  const net = new Net();
  const x = tf.randomNormal([2, 8]);
  const ref = net.forward(x).dataSync().join();
  const fs = require('node:fs');
  const dir = fs.mkdtempSync(require('node:os').tmpdir() + '/memhooks-build-');
  m.applyGroupOffloading(net, { offloadType: 'leaf_level', useStream: true, offloadToDiskPath: dir });
  let staged = 0;
  m.events.on('prefetch', (e) => { if (e.staged) staged++; });
  let same = true;
  for (let i = 0; i < 3; i++) same = same && net.forward(x).dataSync().join() === ref;
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ same, staged }));
  // The handle is not removed on purpose: the worker is unref'd, so the process must still exit by itself.
})().catch((e) => { console.error(e); process.exit(1); });`;

// The Node entries (package.json's import/require conditions): they register the Node platform that files need.
describe.each([
  ['CommonJS', `require(${JSON.stringify(join(dist, 'cjs', 'src', 'node.js'))})`],
  ['ESM', `await import(${JSON.stringify(pathToFileURL(join(dist, 'esm', 'src', 'node.js')).href)})`],
])('group offloading from the %s build', (_label, load) => {
  it('stages groups on the transfer worker and lets the process exit with a handle still applied', () => {
    expect(existsSync(join(dist, 'cjs', 'src', 'strategies', 'group-offloading', 'index.js'))).toBe(true);
    const out = execFileSync(process.execPath, ['-e', SCRIPT(load)], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ same: true, staged: 4 });
  });
});
