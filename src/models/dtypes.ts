import { InvalidArgumentError } from '../base/errors.js';

/** Where a parameter's bytes live. */
export const TIERS = ['device', 'host', 'disk'] as const;
export type Tier = (typeof TIERS)[number];

/** The dtypes tfjs computes in. */
export const COMPUTE_DTYPES = ['float32', 'int32'] as const;
export type ComputeDtype = (typeof COMPUTE_DTYPES)[number];

/** The dtypes a parameter may be stored in; the low-precision ones are decoded to float32 on use. */
export const STORAGE_DTYPES = ['float32', 'int32', 'float16', 'bfloat16', 'float8_e4m3fn', 'float8_e5m2'] as const;
export type StorageDtype = (typeof STORAGE_DTYPES)[number];

export const BYTES_PER_ELEMENT: Readonly<Record<StorageDtype, number>> = {
  float32: 4,
  int32: 4,
  float16: 2,
  bfloat16: 2,
  float8_e4m3fn: 1,
  float8_e5m2: 1,
};

export type HostArray = Float32Array | Int32Array;

export function assertComputeDtype(dtype: string, where: string): asserts dtype is ComputeDtype {
  if (!(COMPUTE_DTYPES as readonly string[]).includes(dtype)) {
    throw new InvalidArgumentError(
      `${where} has dtype "${dtype}", but a Parameter holds ${COMPUTE_DTYPES.join(' or ')} values. ` +
        `Cast it first (tf.cast(x, 'float32')).`,
    );
  }
}
