/**
 * safetensors dtype names. The reader accepts every dtype of the reference format (so that a file holding,
 * say, an F64 tensor can still be opened and its other tensors read); memhooks writes and decodes the ones
 * tfjs models use.
 */

/** The dtypes memhooks writes, and `read()` turns into tensors. */
export const WRITABLE_DTYPES = ['F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2', 'I32', 'I64', 'U8', 'BOOL'] as const;
export type SafetensorsDtype = (typeof WRITABLE_DTYPES)[number];

/** Bits per element of every dtype the reference format defines (safetensors `Dtype::bitsize`). */
const BITS: Readonly<Record<string, number>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, number>, {
    BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
    F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32,
    C64: 64, F64: 64, I64: 64, U64: 64,
  }),
);

/** Any dtype name the format defines. */
export type FileDtype = SafetensorsDtype | (string & { readonly __fileDtype?: never });

export function dtypeBits(dtype: string): number | undefined {
  return Object.hasOwn(BITS, dtype) ? BITS[dtype] : undefined;
}

export function isWritableDtype(dtype: unknown): dtype is SafetensorsDtype {
  return typeof dtype === 'string' && (WRITABLE_DTYPES as readonly string[]).includes(dtype);
}

/** Bytes per element of a writable dtype (all are whole bytes). */
export function dtypeBytes(dtype: SafetensorsDtype): number {
  return BITS[dtype]! / 8;
}

/** Alignment the reference writer sorts by (largest first), so every tensor is naturally aligned. */
export function dtypeAlignment(dtype: SafetensorsDtype): number {
  return dtypeBytes(dtype);
}
