import { DIFFUSION_SIZES, type DiffusionSizeName } from './sizes.js';

// Parameter counts from the configs alone, so that sizes too big to build can still be described
// (`memhooks inspect`, the beyond-the-cap benchmark). test/models/zoo checks them against built models.
const linear = (i: number, o: number, bias = true): number => i * o + (bias ? o : 0);
const conv = (i: number, o: number, k: number): number => k * k * i * o + o;
const attention = (q: number, inner: number, bias: boolean): number => 3 * linear(q, inner, bias) + linear(inner, q);
const feedForward = (d: number, mult: number): number => linear(d, d * mult) + linear(d * mult, d);
const resnet = (i: number, o: number): number => 2 * i + conv(i, o, 3) + 2 * o + conv(o, o, 3) + (i === o ? 0 : conv(i, o, 1));

export interface DiffusionParameterCounts {
  textEncoder: number;
  denoiser: number;
  vae: number;
  total: number;
}

export function diffusionParameterCounts(size: DiffusionSizeName): DiffusionParameterCounts {
  const { textEncoder: te, denoiser: dn, vae } = DIFFUSION_SIZES[size];
  const td = te.heads * te.dimHead;
  const textEncoder =
    te.vocabSize * td + te.maxPositions * td + te.numLayers * (4 * td + attention(td, td, true) + feedForward(td, te.mlpRatio)) + 2 * td;
  const d = dn.heads * dn.dimHead;
  const patch = dn.inChannels * dn.patchSize * dn.patchSize;
  const double = 2 * linear(d, 6 * d) + 2 * attention(d, d, true) + 2 * feedForward(d, dn.mlpRatio);
  const single = linear(d, 3 * d) + linear(d, d * dn.mlpRatio) + attention(d, d, true) + linear(d + d * dn.mlpRatio, d);
  const denoiser =
    linear(patch, d) + linear(td, d) + linear(256, d) + linear(d, d) + dn.numDoubleBlocks * double + dn.numSingleBlocks * single +
    linear(d, 2 * d) + linear(d, patch);
  const ch = [...vae.blockOutChannels].reverse();
  let vaeCount = conv(vae.latentChannels, ch[0]!, 3) + 2 * resnet(ch[0]!, ch[0]!) + 2 * ch[0]! + attention(ch[0]!, ch[0]!, true);
  ch.forEach((o, i) => {
    const inCh = ch[Math.max(0, i - 1)]!;
    for (let r = 0; r <= vae.layersPerBlock; r++) vaeCount += resnet(r === 0 ? inCh : o, o);
    if (i < ch.length - 1) vaeCount += conv(o, o, 3);
  });
  vaeCount += 2 * vae.blockOutChannels[0]! + conv(vae.blockOutChannels[0]!, vae.outChannels, 3);
  return { textEncoder, denoiser, vae: vaeCount, total: textEncoder + denoiser + vaeCount };
}
