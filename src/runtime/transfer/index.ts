export { acquireTransferWorker, transferWorkerStatus, type DecodeItem, type DecodeJob, type ReadJob, type TransferLease } from './TransferWorker.js';
export { TransferControl } from './protocol.js';
export { StagingPool, type StagingSlot } from './StagingPool.js';
