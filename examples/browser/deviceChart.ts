/**
 * The chart of device bytes over a run, from memory.trace's "device bytes" counter events: an SVG string the page
 * puts in its document (no chart library). The same idea as bench/chart.ts (a hand-written SVG that needs no
 * script), drawn as a step line, since the counter holds its value until its next event.
 */
import type { TraceDocument } from 'memhooks';

export interface ChartSample {
  /** Milliseconds since the trace started. */
  ms: number;
  bytes: number;
}

/** The device-bytes counter of a trace, in time order. */
export function deviceSeries(doc: TraceDocument): ChartSample[] {
  return doc.traceEvents
    .filter((e) => e.ph === 'C' && e.name === 'device bytes')
    .map((e) => ({ ms: e.ts / 1000, bytes: Number(e.args?.['bytes'] ?? 0) }))
    .sort((a, b) => a.ms - b.ms);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((m) => m >= v)!;
}

const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A step chart of device MB against ms, with a dashed line at `budgetBytes` when a budget was set. */
export function deviceChartSvg(samples: readonly ChartSample[], o: { title: string; endMs: number; budgetBytes?: number }): string {
  const W = 640;
  const H = 280;
  const m = { l: 60, r: 20, t: 30, b: 45 };
  const MB = 1e6;
  const top = Math.max(...samples.map((s) => s.bytes), o.budgetBytes ?? 0, 1);
  const xMax = niceMax(Math.max(o.endMs, ...samples.map((s) => s.ms)));
  const yMax = niceMax((top / MB) * 1.05);
  const px = (ms: number): number => m.l + (ms / xMax) * (W - m.l - m.r);
  const py = (mb: number): number => H - m.b - (mb / yMax) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(o.title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const xv = (xMax * i) / 4;
    const yv = (yMax * i) / 4;
    out.push(`<line x1="${px(xv)}" y1="${py(0)}" x2="${px(xv)}" y2="${py(yMax)}" stroke="#eee"/>`);
    out.push(`<line x1="${px(0)}" y1="${py(yv)}" x2="${px(xMax)}" y2="${py(yv)}" stroke="#eee"/>`);
    out.push(`<text x="${px(xv)}" y="${H - m.b + 15}" text-anchor="middle">${+xv.toPrecision(3)}</text>`);
    out.push(`<text x="${m.l - 6}" y="${py(yv) + 4}" text-anchor="end">${+yv.toPrecision(3)}</text>`);
  }
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">ms since the run started</text>`);
  out.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">device MB</text>`);
  if (samples.length > 0) {
    // A step line: each value holds until the next event, and the last one until the end of the run.
    const points: string[] = [];
    samples.forEach((s, i) => {
      if (i > 0) points.push(`${px(s.ms).toFixed(1)},${py(samples[i - 1]!.bytes / MB).toFixed(1)}`);
      points.push(`${px(s.ms).toFixed(1)},${py(s.bytes / MB).toFixed(1)}`);
    });
    points.push(`${px(Math.max(o.endMs, samples.at(-1)!.ms)).toFixed(1)},${py(samples.at(-1)!.bytes / MB).toFixed(1)}`);
    out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
  }
  if (o.budgetBytes !== undefined) {
    const y = py(o.budgetBytes / MB).toFixed(1);
    out.push(`<line x1="${px(0)}" y1="${y}" x2="${px(xMax)}" y2="${y}" stroke="#d62728" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${px(xMax) - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#d62728">budget</text>`);
  }
  out.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(xMax)}" y2="${py(0)}" stroke="#333"/>`);
  out.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(yMax)}" stroke="#333"/>`);
  out.push('</svg>');
  return out.join('\n');
}
