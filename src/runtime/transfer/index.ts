export { acquireTransferWorker, transferWorkerStatus, type ReadJob, type TransferLease } from './TransferWorker.js';
export { TransferControl } from './protocol.js';
export { StagingPool, type StagingSlot } from './StagingPool.js';
