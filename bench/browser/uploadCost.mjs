// Measures the upload cost (ms per MiB) and whether an early upload overlaps compute, in headless Chromium, on
// webgl, webgpu and wasm: `node bench/browser/uploadCost.mjs [--rounds 7] [--size 512] [--backends webgl,webgpu,wasm] [--out]`.
// Vite serves the page (bench/browser/uploadCost.html); Debian's /usr/bin/chromium runs it, never a downloaded
// browser. With --out it writes bench/results/browser-upload.{json,md}. SwiftShader rasterizes on the CPU: the
// numbers describe the mechanism, not a real GPU's speed.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { launchChromium, serveWithVite } from './chromium.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const rounds = Number(arg('rounds', '7'));
// The side of the square matmul that the upload races: 512 takes about as long as the 8 MiB upload on SwiftShader's webgl.
const size = Number(arg('size', '512'));
const backends = arg('backends', 'webgl,webgpu,wasm').split(',');

const { server, base } = await serveWithVite({ root, cacheDir: `${root}/.cache/vite-bench-browser` });
const browser = await launchChromium();
const results = [];
try {
  for (const backend of backends) {
    const page = await browser.newPage();
    await page.goto(`${base}bench/browser/uploadCost.html?backend=${backend}&rounds=${rounds}&size=${size}`);
    await page.waitForFunction(() => globalThis.__memhooksUploadBench !== undefined, null, { timeout: 600_000 });
    const result = await page.evaluate(() => globalThis.__memhooksUploadBench);
    await page.close();
    if (result.error !== undefined) throw new Error(`${backend}: ${result.error}`);
    results.push(result);
    console.log(JSON.stringify(result));
  }
} finally {
  await browser.close();
  await server.close();
}

const ms = (n) => n.toFixed(1);
const lines = [
  `Headless Chromium (${browser.version?.() ?? 'Debian chromium'}), ${rounds} rounds after a warm-up, medians. Command: node bench/browser/uploadCost.mjs --rounds ${rounds} --size ${size}`,
  'SwiftShader is a CPU rasterizer: these numbers describe the mechanism, not a real GPU\'s speed.',
  'wasm runs each kernel to its end before the call returns, so an early upload cannot overlap there: its overlap column is the noise of the run (the machine is shared), the floor under which the GPU rows say nothing.',
  '',
  `| backend | device | upload ms/MiB | compute (${size}² matmul) ms | upload 8 MiB ms | serial ms | early ms | overlap |`,
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((r) => `| ${r.backend} | ${r.device} | ${r.uploadMsPerMiB.toFixed(2)} | ${ms(r.computeMs)} | ${ms(r.uploadMs)} | ${ms(r.serialMs)} | ${ms(r.earlyMs)} | ${(100 * r.overlap).toFixed(0)}% |`),
];
console.log(lines.join('\n'));
if (process.argv.includes('--out')) {
  await writeFile(`${root}/bench/results/browser-upload.json`, `${JSON.stringify({ rounds, results }, null, 2)}\n`);
  await writeFile(`${root}/bench/results/browser-upload.md`, `${lines.join('\n')}\n`);
}
