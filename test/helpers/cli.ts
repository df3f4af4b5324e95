import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

/** Runs the CLI in-process and captures what it writes. */
export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}
