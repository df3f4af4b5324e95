// The demo page (examples/browser) in headless Debian Chromium: `npm run demo`'s server (which fetches the real
// upscaler first), one run of the zoo pipeline under leaf-level group offloading on webgl, its numbers checked, and a
// screenshot of the page saved to bench/results/browser.png for the README.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/browser/chromium.mjs';
import { startDemoServer } from '../../examples/browser/serve.mjs';
import type { DemoReport } from '../../examples/browser/main.js';

const SCREENSHOT = fileURLToPath(new URL('../../bench/results/browser.png', import.meta.url));

describe('the demo page (examples/browser)', () => {
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  beforeAll(async () => {
    server = await startDemoServer({ port: 0 });
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('runs the pipeline with leaf group offloading under a budget on webgl and shows sane numbers, the image and the chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?model=pipeline&strategy=group-leaf-stream&steps=1&budget=20&run=1`);
    await page.waitForFunction(() => (globalThis as { __memhooksDemo?: unknown }).__memhooksDemo !== undefined, null, { timeout: 400_000 });
    const report = (await page.evaluate(() => (globalThis as { __memhooksDemo?: unknown }).__memhooksDemo)) as DemoReport;
    console.log(`demo page: ${report.backend} (${report.device}): ${JSON.stringify(report)}`);
    expect(errors).toEqual([]);
    expect(report.status, report.error).toBe('done');
    expect(report.backend).toBe('webgl');
    expect(report.budgetBytes).toBe(20e6);
    expect(report.ms).toBeGreaterThan(0);
    expect(report.traceSamples).toBeGreaterThan(1);
    // GPU bytes (textures in use and tfjs' pool) rose during the call, and stayed below the pipeline's weights: a
    // resident run holds every weight on the GPU at once, so its peak is at least that, while leaf offloading holds
    // one layer's weights at a time. Between calls the strategy leaves less than one tenth of the weights there.
    expect(report.peakDeviceBytes).toBeGreaterThan(0);
    expect(report.peakDeviceBytes!).toBeLessThan(report.weightBytes!);
    expect(report.heldAfterBytes!).toBeLessThanOrEqual(0.1 * report.weightBytes!);
    // The page shows them: the numbers table, the image, the chart.
    await expect(page.locator('#numbers').textContent()).resolves.toContain('peak GPU memory');
    expect(await page.locator('#output-figure').isVisible()).toBe(true);
    expect(await page.locator('#chart svg polyline').count()).toBe(1);
    mkdirSync(fileURLToPath(new URL('.', `file://${SCREENSHOT}`)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  }, 500_000);
});
