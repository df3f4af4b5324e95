/**
 * What the CLI shows on a terminal: tables drawn with cli-table3 and a cli-progress bar for long benchmarks.
 * When the output is not a terminal (a pipe, a file, CI) the CLI prints Markdown tables and plain lines instead.
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { formatNumber } from '../base/format.js';
import type { ResultTable } from './benchSuite.js';

export function terminalTable(table: ResultTable): string[] {
  const t = new Table({ head: table.columns, style: { head: ['cyan'], compact: true } });
  for (const row of table.rows) t.push(row.map((v) => (typeof v === 'number' ? formatNumber(v) : v.replace(/\*\*/g, ''))));
  return t.toString().split('\n');
}

/** A progress bar on stderr; `update` moves it, `stop` clears the line for what is printed next. */
export function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    { format: `  ${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr, clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
