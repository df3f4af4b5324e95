// Layerwise casting: low-precision weight storage, float32 compute (issue #13, docs/layerwise-casting.md).
export { applyLayerwiseCasting } from './applyLayerwiseCasting.js';
export { LayerwiseCastingStrategy } from './LayerwiseCastingStrategy.js';
export { LayerwiseCastingHook } from './LayerwiseCastingHook.js';
export { LAYERWISE_CASTING, DEFAULT_SKIP_MODULES_PATTERN } from './names.js';
export { DECODE_SITES, defaultDecodeSite, type DecodeSite, type LayerwiseCastingOptions } from './options.js';
export { decodeOnHost, decodeOnDevice } from './decodeSites.js';
export { isCastableLeaf, CASTABLE_TFJS_LAYERS } from './selection.js';
// The codecs (pure functions over typed arrays, usable from worker threads).
export * from '../../dtypes/index.js';
