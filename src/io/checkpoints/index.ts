export { saveShardedCheckpoint, type SaveShardedOptions, type SavedCheckpoint, type CheckpointValue } from './save.js';
export { loadShardedCheckpoint } from './load.js';
export { openCheckpoint, checkpointTensors, type Checkpoint, type CheckpointTensor, type OpenCheckpointOptions } from './openCheckpoint.js';
export { DEFAULT_WEIGHTS_NAME, shardFileName, indexFileName, planShards } from './shards.js';
export {
  openRemoteCheckpoint,
  remoteCheckpointTensors,
  loadRemoteCheckpoint,
  type RemoteCheckpoint,
  type RemoteCheckpointTensor,
  type OpenRemoteCheckpointOptions,
  type LoadRemoteCheckpointOptions,
} from './remoteCheckpoint.js';
