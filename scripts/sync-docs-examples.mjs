#!/usr/bin/env node
// Rewrites every ```ts block of docs/*.md and README.md that follows an `<!-- example: FILE -->` marker with
// FILE's current text, so that an edited example (by hand or by `eslint --fix`) is quoted word for word again.
// test/examples/docs.test.ts fails until this has run; `npm run docs:sync` runs it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MARKER = /^<!-- example: (\S+) -->$/;
const pages = [...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f)), 'README.md'];
let changed = 0;
for (const page of pages) {
  const lines = readFileSync(page, 'utf8').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    const marker = MARKER.exec(lines[i].trim());
    if (marker === null) continue;
    let open = i + 1;
    while (open < lines.length && lines[open].trim() === '') out.push(lines[open++]);
    const fence = /^(\s*)```(ts|typescript)\s*$/.exec(lines[open] ?? '');
    if (fence === null) continue;
    let close = open + 1;
    while (close < lines.length && !/^\s*```\s*$/.test(lines[close])) close++;
    const indent = fence[1];
    const body = readFileSync(marker[1], 'utf8').replace(/\s+$/, '').split('\n').map((l) => (l === '' ? '' : indent + l));
    const before = lines.slice(open + 1, close).join('\n');
    if (before !== body.join('\n')) changed++;
    out.push(lines[open], ...body, lines[close]);
    i = close;
  }
  writeFileSync(page, out.join('\n'));
}
console.log(`docs:sync: ${changed} block(s) updated.`);
