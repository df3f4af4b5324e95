/** Strategy and hook name of layerwise casting (diffusers' hook is called the same). */
export const LAYERWISE_CASTING = 'layerwise_casting' as const;

/**
 * Module-path patterns left in float32 by default (diffusers' DEFAULT_SKIP_MODULES_PATTERN): regular
 * expressions searched in the dotted path, so 'norm' also skips 'norm1', 'norm_out' and 'attn.norm_q', while
 * '^proj_in$' matches only a top-level module named exactly proj_in. Positional embeddings and norms are
 * small and precision-sensitive; the first and last projections feed and read the whole network.
 */
export const DEFAULT_SKIP_MODULES_PATTERN: readonly string[] = Object.freeze(['pos_embed', 'patch_embed', 'norm', '^proj_in$', '^proj_out$']);
