import type { Attention, AttentionProcessor } from '../../models/layers/Attention.js';
import type { Undo } from '../Strategy.js';

// Process-global key: a setting made by one copy of memhooks (its ESM or CJS build) is taken over by the other's.
const GOVERNED = Symbol.for('memhooks.attentionProcessorSetting');

/** What an Attention whose processor memhooks set remembers. */
interface Governed {
  /** The processor it had before memhooks first set one: what removing its setting restores. */
  readonly original: AttentionProcessor;
  /** The application in force on it: the latest one that reached it. */
  setting: { release(attention: Attention): void };
}

type WithGoverned = { [GOVERNED]?: Governed };

function governedOf(attention: Attention): Governed | undefined {
  return (attention as WithGoverned)[GOVERNED];
}

/**
 * One setAttentionProcessor application: the Attentions it governs, i.e. those it reached and no later
 * application has reached since. Applying takes each Attention over from whichever application governed
 * it; removing restores the processor each Attention it still governs had before memhooks first set one
 * (not the processor of the application it took over from, which the user switched away from).
 *
 * Porting note: diffusers' set_attn_processor simply overwrites and has nothing to undo; here every
 * application keeps a handle, so "which handle restores what" needs this bookkeeping.
 */
export class ProcessorSetting implements Undo {
  private readonly governs = new Set<Attention>();
  private removed = false;

  constructor(attentions: readonly Attention[], processor: AttentionProcessor) {
    for (const a of attentions) {
      // Set first: if the processor is refused, no bookkeeping has changed.
      const original = a.processor;
      a.setProcessor(processor);
      const governed = governedOf(a);
      if (governed === undefined) {
        Object.defineProperty(a, GOVERNED, { value: { original, setting: this }, enumerable: false, configurable: true, writable: true });
      } else {
        governed.setting.release(a);
        governed.setting = this;
      }
      this.governs.add(a);
    }
  }

  /** Every Attention it reached was taken over by later applications: nothing is left for it to undo. */
  get superseded(): boolean {
    return !this.removed && this.governs.size === 0;
  }

  /** @internal A later application took `attention` over. */
  release(attention: Attention): void {
    this.governs.delete(attention);
  }

  remove(): void {
    for (const a of this.governs) {
      a.setProcessor(governedOf(a)!.original);
      delete (a as WithGoverned)[GOVERNED];
    }
    this.governs.clear();
    this.removed = true;
  }
}
