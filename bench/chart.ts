/**
 * A small SVG scatter plot (no dependency): one labelled point per strategy, for the README. Written by
 * hand because the picture is simple and the files must render on GitHub without scripts.
 */
export interface ChartPoint {
  label: string;
  x: number;
  y: number;
  /** Points of one group share a colour (e.g. the section they come from). */
  group: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v)!;
}

const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function scatterSvg(points: readonly ChartPoint[], o: { title: string; xLabel: string; yLabel: string; legend: readonly string[] }): string {
  const W = 760;
  const H = 440;
  const m = { l: 70, r: 220, t: 40, b: 55 };
  const xMax = niceMax(Math.max(...points.map((p) => p.x)) * 1.05);
  const yMax = niceMax(Math.max(...points.map((p) => p.y)) * 1.05);
  const px = (x: number): number => m.l + (x / xMax) * (W - m.l - m.r);
  const py = (y: number): number => H - m.b - (y / yMax) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const xv = (xMax * i) / 5;
    const yv = (yMax * i) / 5;
    out.push(`<line x1="${px(xv)}" y1="${py(0)}" x2="${px(xv)}" y2="${py(yMax)}" stroke="#eee"/>`);
    out.push(`<line x1="${px(0)}" y1="${py(yv)}" x2="${px(xMax)}" y2="${py(yv)}" stroke="#eee"/>`);
    out.push(`<text x="${px(xv)}" y="${H - m.b + 16}" text-anchor="middle">${+xv.toPrecision(3)}</text>`);
    out.push(`<text x="${m.l - 8}" y="${py(yv) + 4}" text-anchor="end">${+yv.toPrecision(3)}</text>`);
  }
  out.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(xMax)}" y2="${py(0)}" stroke="#333"/>`);
  out.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(yMax)}" stroke="#333"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 14}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  points.forEach((p, i) => {
    const color = COLORS[p.group % COLORS.length]!;
    out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="5" fill="${color}"/>`);
    // Labels go in a list on the right, numbered, so that close points stay readable.
    out.push(`<text x="${(px(p.x) + 7).toFixed(1)}" y="${(py(p.y) - 6).toFixed(1)}" fill="${color}">${i + 1}</text>`);
    out.push(`<text x="${W - m.r + 14}" y="${m.t + 14 * i}" fill="${color}">${i + 1}. ${esc(p.label)}</text>`);
  });
  o.legend.forEach((name, g) => out.push(`<text x="${W - m.r + 14}" y="${m.t + 14 * (points.length + 1 + g)}" fill="${COLORS[g % COLORS.length]}">● ${esc(name)}</text>`));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
