import { DECODER_EXPRESSION } from '../../dtypes/workerSource.js';
import { CONTROL, type ControlLayout } from './protocol.js';
import { runTransferWorker } from './workerMain.js';

/**
 * The transfer worker's source for Node, run with `new Worker(source, { eval: true })`. It is a string
 * (plain CommonJS) so that the same worker starts from the ESM build, the CJS build and from sources run
 * directly by vitest: a worker file next to the sources would need a path that differs per build and that
 * tsc would not copy. Nothing in it is written twice: the program is runTransferWorker's own text, the
 * decoder is src/dtypes' own (DECODER_EXPRESSION), and the control-block layout is `layout` serialised
 * (CONTROL of protocol.ts; a test passes another). Only the host binding below is worker-specific: a Web
 * Worker would bind `self` instead of node:worker_threads and pass no files.
 */
export function transferWorkerSource(layout: ControlLayout = CONTROL): string {
  return `'use strict';
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const host = {
  onMessage: (handler) => parentPort.on('message', handler),
  files: require('node:fs'),
  createHash: (algorithm) => crypto.createHash(algorithm),
};
(${runTransferWorker.toString()})(host, ${DECODER_EXPRESSION}, ${JSON.stringify(layout)});
`;
}

/** The source the shared transfer worker (TransferWorker.ts) runs. */
export const WORKER_SOURCE = transferWorkerSource();
