import * as tf from '@tensorflow/tfjs-core';
import { DIFFUSION_SIZES, VaeDecoder } from 'memhooks/zoo';
import { applyBatchSlicing, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const vae = new VaeDecoder(DIFFUSION_SIZES.tiny.vae);   // the zoo's VAE decoder: latents [b, h, w, 4] → images
const latents = tf.randomNormal([4, 8, 8, 4]);
{
  using _handle = applyBatchSlicing(vae, { sliceSize: 1 }); // removed at the end of this block
  const images = vae.forward(latents); // [4, H, W, 3], decoded one latent at a time
  console.log(images.shape);
  images.dispose();
}
latents.dispose();
vae.dispose();
