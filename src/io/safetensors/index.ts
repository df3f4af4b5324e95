export { SafetensorsFile, decodeValues } from './SafetensorsFile.js';
export { SafetensorsSource, type SafetensorsInput } from './SafetensorsSource.js';
export { type UrlReadOptions } from './httpRanges.js';
export { RangeReadError } from './byteRanges.js';
export { saveSafetensors, saveSafetensorsSync, encodeSafetensors, encodeSafetensorsLazily, type SafetensorsEntry, type LazyEntry } from './write.js';
export { MAX_HEADER_BYTES, type TensorInfo } from './header.js';
export { WRITABLE_DTYPES, dtypeBytes, type SafetensorsDtype, type FileDtype } from './dtypes.js';
export { decodeFloat16, decodeBFloat16, decodeFloat8E4M3, decodeFloat8E5M2 } from './decode.js';
