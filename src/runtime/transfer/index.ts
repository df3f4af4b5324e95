export { acquireTransferWorker, transferWorkerStatus, type DecodeItem, type DecodeJob, type ReadJob, type TransferLease } from './TransferWorker.js';
export { TransferControl } from './protocol.js';
export { StagingPool, type StagingSlot } from './StagingPool.js';
export { MessageControl, settle } from './MessageControl.js';
export type { JobControl } from './protocol.js';
export { overrideTransferThread, transferThread, type TransferThread } from './threads.js';
