// Built-in layers, PyTorch/diffusers semantics on tfjs tensors (NHWC for images). See docs/layers.md.
export { Linear, type LinearOptions } from './Linear.js';
export { OUT_IN_LINEAR_BACKENDS, preferredLinearLayout, type LinearLayout } from './linearLayout.js';
export { Conv2d, type Conv2dOptions, type Conv2dPadding } from './Conv2d.js';
export { ConvTranspose2d, type ConvTranspose2dOptions } from './ConvTranspose2d.js';
export { GroupNorm, type GroupNormOptions } from './GroupNorm.js';
export { LayerNorm, type LayerNormOptions } from './LayerNorm.js';
export { RMSNorm, type RMSNormOptions } from './RMSNorm.js';
export { Embedding, type EmbeddingOptions } from './Embedding.js';
export { Dropout } from './Dropout.js';
export { GELU, gelu, type GELUOptions, type GeluApproximate } from './GELU.js';
export { GEGLU, type GEGLUOptions } from './GEGLU.js';
export {
  Attention,
  naiveAttentionProcessor,
  type AttentionOptions,
  type AttentionProcessor,
  type AttentionConstructorOptions,
} from './Attention.js';
export { FeedForward, FEED_FORWARD_ACTIVATIONS, type FeedForwardActivation, type FeedForwardOptions } from './FeedForward.js';
export {
  torchLayoutOf,
  registerTorchLayout,
  permutedLayout,
  type HostTensor,
  type TorchLayout,
  type TorchLayoutFactory,
} from './layouts.js';
