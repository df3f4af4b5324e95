import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the docs examples live, and the marker line that quotes one of them in a page. */
export const EXAMPLES_DIR = 'examples/docs';
const MARKER = /^<!-- example: (\S+) -->$/;

/** A fenced TypeScript block of a Markdown page: where it starts, its text (fence indent removed), its marker. */
export interface CodeBlock {
  page: string;
  line: number;
  text: string;
  /** The file the marker line just before the block names, if there is one. */
  example: string | undefined;
}

/** Every ```ts (or ```typescript) block of a page, with the example marker on the line before it. */
export function tsBlocks(page: string): CodeBlock[] {
  const lines = readFileSync(page, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent, lang] = open;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (lang === 'ts' || lang === 'typescript') {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      const marker = prev >= 0 ? MARKER.exec(lines[prev]!.trim()) : null;
      const text = lines.slice(i + 1, end).map((l) => (l.startsWith(indent!) ? l.slice(indent!.length) : l)).join('\n');
      blocks.push({ page, line: i + 1, text, example: marker?.[1] });
    }
    i = end;
  }
  return blocks;
}

/** The pages whose examples must be quoted files: every docs page and the README. */
export function docPages(): string[] {
  return [...readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f)), 'README.md'];
}

/** The runnable examples: the .ts files directly in examples/docs. */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.ts')).sort().map((f) => `${EXAMPLES_DIR}/${f}`);
}

/** Text compared without trailing whitespace at the end of lines or of the whole. */
export function normalized(text: string): string {
  return text.split('\n').map((l) => l.trimEnd()).join('\n').trimEnd();
}
