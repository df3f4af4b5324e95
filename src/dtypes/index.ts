// Storage dtype codecs: pure functions over typed arrays (no tfjs), usable from worker threads.
export { LOW_PRECISION_DTYPES, FORMATS, isLowPrecisionDtype, bytesPerCode, type LowPrecisionDtype, type Format } from './formats.js';
export { encodeBits, encodeValue, encodeInto } from './encode.js';
export { decodeBits, decodeValue, decodeInto, decodeTable, dequantizeInto, type ShippedDtype } from './decode.js';
export { allocatePacked, viewPacked, wordCount, type PackedCodes } from './packing.js';
export { encodePacked, decodePacked } from './bulk.js';
export { DECODE_WORKER_SOURCE } from './workerSource.js';
