/**
 * The demo page: reads its choices from the URL (the form submits with GET, so every run starts in a fresh page with
 * nothing on the device), runs them (runDemo.ts) and shows the image, the numbers and the chart. It also leaves its
 * result on `globalThis.__memhooksDemo` for scripts that drive the page (the demo's test, the screenshot).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DEMO_STRATEGIES, type DemoModelName } from './demoStrategies.js';
import { deviceChartSvg, deviceSeries } from './deviceChart.js';
import { byId, page, query, type PageElement, type PageInput } from './page.js';
import { runDemo, useDemoBackend } from './runDemo.js';

// Where `npm run demo` (examples/browser/serve.mjs) and the test put the real upscaler, relative to the served root.
const UPSCALER_URL = '/.cache/models/upscaler-esrgan-2x/package/models/model.json';

/** What the page reports to a script driving it. Bytes and milliseconds. */
export interface DemoReport {
  status: 'done' | 'error';
  backend?: string;
  device?: string;
  model?: string;
  strategy?: string;
  ms?: number;
  peakDeviceBytes?: number;
  heldAfterBytes?: number;
  weightBytes?: number;
  budgetBytes?: number;
  traceSamples?: number;
  error?: string;
}

const MB = 1e6;
const mb = (bytes: number): string => `${(bytes / MB).toFixed(2)} MB`;
const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The form shows the choices of the run that made this page. */
function fillForm(q: URLSearchParams): void {
  byId('strategy').innerHTML = DEMO_STRATEGIES.map((s) => `<option value="${s.id}">${esc(s.label)}</option>`).join('');
  for (const name of ['model', 'strategy', 'budget', 'steps', 'side']) {
    const value = q.get(name);
    if (value !== null) byId<PageInput>(name).value = value;
  }
}

/** Draws a [H, W, 3] image in [0, 1] on a canvas, scaled up so that small outputs stay visible. */
async function draw(canvasId: string, image: tf.Tensor3D): Promise<void> {
  const canvas = byId(canvasId);
  await tf.browser.toPixels(image, canvas as unknown as Parameters<typeof tf.browser.toPixels>[1]);
  const scale = Math.max(1, Math.floor(256 / Math.max(image.shape[0], image.shape[1])));
  (canvas as unknown as { style: { width: string } }).style.width = `${image.shape[1] * scale}px`;
  byId(`${canvasId}-figure`).hidden = false;
}

function showNumbers(rows: Array<[string, string]>): void {
  const table = byId('numbers');
  table.innerHTML = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  table.hidden = false;
}

async function run(q: URLSearchParams): Promise<DemoReport> {
  const status = byId('status');
  const model = (q.get('model') ?? 'pipeline') as DemoModelName;
  const strategy = q.get('strategy') ?? 'resident';
  const budgetMB = q.get('budget') ?? '';
  const budgetBytes = budgetMB === '' ? undefined : Math.round(Number(budgetMB) * MB);
  status.textContent = 'Starting the backend…';
  const backend = await useDemoBackend(q.get('backend') ?? 'webgl');
  byId('backend').textContent = `Backend ${backend.name}: ${backend.device}${backend.fallback === undefined ? '' : ` (${backend.fallback})`}.`;
  const report: DemoReport = { status: 'error', backend: backend.name, device: backend.device, model, strategy, ...(budgetBytes === undefined ? {} : { budgetBytes }) };
  status.textContent = `Running ${model} with "${strategy}" (one untimed call, then the measured one)…`;
  const r = await runDemo({
    model,
    strategy,
    ...(budgetBytes === undefined ? {} : { budgetBytes }),
    steps: Number(q.get('steps') ?? '2'),
    side: Number(q.get('side') ?? '96'),
    upscalerUrl: UPSCALER_URL,
  });
  try {
    const samples = deviceSeries(r.trace);
    showNumbers([
      ['backend', backend.name],
      ['time of the measured call', `${r.ms.toFixed(0)} ms`],
      [backend.name === 'wasm' ? 'peak device memory' : 'peak GPU memory (textures in use + tfjs pool)', mb(r.peakDeviceBytes)],
      ['held after the call (output freed)', mb(r.heldAfterBytes)],
      ['weights (float32)', mb(r.weightBytes)],
      ['device budget', budgetBytes === undefined ? 'none' : mb(budgetBytes)],
    ]);
    byId('chart').innerHTML = deviceChartSvg(samples, {
      title: `${backend.name}: device bytes during the call (memory.trace, ${samples.length} samples)`,
      endMs: r.ms,
      ...(budgetBytes === undefined ? {} : { budgetBytes }),
    });
    if (r.input !== undefined) await draw('input', r.input);
    await draw('output', r.image);
    status.textContent = `Done: ${model}, "${strategy}".`;
    return { ...report, status: 'done', ms: r.ms, peakDeviceBytes: r.peakDeviceBytes, heldAfterBytes: r.heldAfterBytes, weightBytes: r.weightBytes, traceSamples: samples.length };
  } finally {
    tf.dispose([r.image, ...(r.input === undefined ? [] : [r.input])]);
  }
}

const q = query();
fillForm(q);
if (q.get('run') === '1') {
  run(q)
    .then((report) => {
      page.__memhooksDemo = report;
    })
    .catch((error: unknown) => {
      // A refused budget lands here too: its message says which group did not fit and how to raise the budget.
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const status: PageElement = byId('status');
      status.className = 'error';
      status.textContent = message;
      page.__memhooksDemo = { status: 'error', error: message } satisfies DemoReport;
    });
}
