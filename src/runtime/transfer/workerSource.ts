import { platform } from '../../base/platform/Platform.js';
import { DECODER_EXPRESSION } from '../../dtypes/workerSource.js';
import { CONTROL, type ControlLayout } from './protocol.js';
import { runTransferWorker } from './workerMain.js';

/**
 * The transfer worker's program: a classic script that calls runTransferWorker with a `host` that the
 * platform's binding declares. It is a string so that the same worker starts from the ESM build, the CJS
 * build, a bundle and from sources run directly by vitest: a worker file next to the sources would need a
 * path that differs per build and that tsc would not copy. Nothing in it is written twice: the program is
 * runTransferWorker's own text, the decoder is src/dtypes' own (DECODER_EXPRESSION), and the control-block
 * layout is `layout` serialised (CONTROL of protocol.ts; a test passes another).
 */
export function transferWorkerProgram(layout: ControlLayout = CONTROL): string {
  return `(${runTransferWorker.toString()})(host, ${DECODER_EXPRESSION}, ${JSON.stringify(layout)});\n`;
}

/**
 * The whole source a worker runs: the host binding of `binding` (the registered platform's by default: under
 * Node node:worker_threads' port with node:fs and sha256, run with `new Worker(source, { eval: true })`; in a
 * page `self`'s messages and no files, run from a Blob URL), then the program.
 */
export function transferWorkerSource(layout: ControlLayout = CONTROL, binding: string = platform().worker.hostBinding): string {
  return `'use strict';\n${binding}\n${transferWorkerProgram(layout)}`;
}
