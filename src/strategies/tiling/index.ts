export { applyTiling, Tiling } from './applyTiling.js';
export { TilingHook, TILING } from './TilingHook.js';
export { type TilingOptions } from './options.js';
export { measureSeams, type SeamReport } from './seams.js';
