import { InvalidArgumentError } from '../base/errors.js';
import { Attention } from '../models/layers/Attention.js';
import type { Module } from '../models/Module.js';
import { setAttentionProcessor } from '../strategies/attention/setAttentionProcessor.js';
import { applyBatchSlicing, resolveBatchSlicingOptions } from '../strategies/slicing/applyBatchSlicing.js';
import { resolveProcessor } from '../strategies/attention/processors.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import { applyTiling } from '../strategies/tiling/applyTiling.js';
import { resolveTilingOptions, TILING_OPTION_KEYS, type TilingOptions } from '../strategies/tiling/options.js';
import { checkOptionKeys } from '../strategies/optionKeys.js';
import type { Components } from './components.js';

type SwitchName = 'vaeSlicing' | 'vaeTiling' | 'attention';

/** enableVaeTiling's options: the decoder's tiling, and optionally the encoder's (whose outputScale differs). */
export interface VaeTilingOptions extends TilingOptions {
  encoder?: TilingOptions;
}

/**
 * The pipeline-wide activation-memory switches: each is a thin call onto a strategy, and its handles are
 * kept so that disabling removes exactly what enabling applied (the behaviour is then bitwise the old one).
 * Enabling a switch that is on replaces it (new options).
 */
export class PipelineSwitches {
  private readonly on = new Map<SwitchName, StrategyHandle[]>();

  constructor(private readonly components: Components, private readonly vaeName: string) {}

  enableVaeSlicing(options: { sliceSize?: number }): void {
    const targets = this.vaeParts('enableVaeSlicing');
    // Options are checked before the switch's previous state is touched.
    for (const m of targets) resolveBatchSlicingOptions(m, options, 'enableVaeSlicing');
    this.replace('vaeSlicing', targets, (m) => applyBatchSlicing(m, options));
  }

  enableVaeTiling(options: VaeTilingOptions): void {
    const vae = this.vae('enableVaeTiling');
    checkOptionKeys('enableVaeTiling', options, [...TILING_OPTION_KEYS, 'encoder']);
    // No options at all: refused there, as tileSize is required.
    if (options === undefined) resolveTilingOptions(options, 'enableVaeTiling');
    const { encoder: encoderOptions, ...decoderOptions } = options ?? ({} as VaeTilingOptions);
    const decoder = vae.namedChildren().find(([k]) => k === 'decoder')?.[1] ?? vae;
    const encoder = vae.namedChildren().find(([k]) => k === 'encoder')?.[1];
    if (encoderOptions !== undefined && encoder === undefined) {
      throw new InvalidArgumentError(`enableVaeTiling: \`encoder\` options were given, but the "${this.vaeName}" component has no encoder child.`);
    }
    const plan: Array<[Module, TilingOptions]> = [[decoder, decoderOptions]];
    if (encoderOptions !== undefined) plan.push([encoder!, encoderOptions]);
    resolveTilingOptions(decoderOptions, 'enableVaeTiling');
    if (encoderOptions !== undefined) resolveTilingOptions(encoderOptions, 'enableVaeTiling: `encoder`');
    this.replace('vaeTiling', plan.map(([m]) => m), (m) => applyTiling(m, plan.find(([t]) => t === m)![1]));
  }

  enableAttention(kind: 'chunked' | 'sliced', opts: { sliceSize?: number; blockSize?: number } | undefined): void {
    if (kind !== 'chunked' && kind !== 'sliced') {
      throw new InvalidArgumentError(`enableMemoryEfficientAttention(kind) takes 'chunked' or 'sliced', got ${JSON.stringify(kind)}.`);
    }
    const targets = Object.values(this.components).filter((c) => c.modules().some((m) => m instanceof Attention));
    if (targets.length === 0) {
      throw new InvalidArgumentError(`enableMemoryEfficientAttention: no component of this pipeline contains an Attention module, so there is nothing to switch.`);
    }
    resolveProcessor(kind, opts, 'enableMemoryEfficientAttention');
    this.replace('attention', targets, (c) => setAttentionProcessor(c, kind, opts));
  }

  disable(name: SwitchName): void {
    for (const h of (this.on.get(name) ?? []).reverse()) h.remove();
    this.on.delete(name);
  }

  /** removeAllHooks() removed everything already. */
  forget(): void {
    this.on.clear();
  }

  /** The VAE's encoder and decoder when it has them (diffusers slices encode and decode), else the VAE itself. */
  private vaeParts(method: string): Module[] {
    const vae = this.vae(method);
    const parts = vae.namedChildren().filter(([k]) => k === 'encoder' || k === 'decoder').map(([, m]) => m);
    return parts.length > 0 ? parts : [vae];
  }

  private vae(method: string): Module {
    const vae = this.components[this.vaeName];
    if (vae === undefined) {
      throw new InvalidArgumentError(`${method}: this pipeline has no "${this.vaeName}" component. Components: ${Object.keys(this.components).join(', ')}.`);
    }
    return vae;
  }

  /** Removes the switch's previous handles, then applies; on failure removes what was applied and re-raises. */
  private replace(name: SwitchName, targets: readonly Module[], apply: (m: Module) => StrategyHandle): void {
    this.disable(name);
    const handles: StrategyHandle[] = [];
    try {
      for (const m of targets) handles.push(apply(m));
    } catch (error) {
      for (const h of handles.reverse()) h.remove();
      throw error;
    }
    this.on.set(name, handles);
  }
}
