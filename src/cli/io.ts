/** Where the CLI writes. Tests inject their own to capture output; the bin uses the process streams. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Whether out() writes to a terminal: then tables are drawn and long work shows a progress bar. */
  readonly isTTY?: boolean;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get isTTY() {
    return process.stdout.isTTY === true && process.stderr.isTTY === true;
  },
};

/** Exit codes: 0 success, 1 a failure while running (or a failed output check), 2 bad input. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** Bad input from the command line: reported as one line, without a stack trace, with exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `Unknown backend "x". Valid backends: wasm, cpu.` */
export function unknownChoice(kind: string, plural: string, value: string, valid: readonly string[]): UsageError {
  return new UsageError(`Unknown ${kind} "${value}". Valid ${plural}: ${valid.join(', ')}.`);
}

/** What every command gets: where to write, and how to report a non-zero exit without throwing. */
export interface CommandContext {
  readonly io: CliIO;
  /** Raises the exit code (the highest one reported wins). */
  setExitCode(code: number): void;
}
