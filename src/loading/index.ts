export { savePretrained, type SavePretrainedOptions } from './savePretrained.js';
export { fromPretrained, deviceMapHandleOf, type FromPretrainedOptions } from './fromPretrained.js';
export { CONFIG_NAME, type ModelConfig } from './config.js';
