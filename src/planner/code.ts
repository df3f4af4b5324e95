// How describe() writes the calls a plan makes: as the TypeScript a user would write.

/** A value as TypeScript source: `{ offloadType: 'leaf_level', keepResident: ['blocks.0'] }` (undefined keys left out). */
export function codeOf(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(codeOf).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{ ${entries.map(([k, v]) => `${k}: ${codeOf(v)}`).join(', ')} }`;
  }
  return String(value);
}
