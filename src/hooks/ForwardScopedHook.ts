import type { Module } from '../models/Module.js';
import { ModelHook } from './ModelHook.js';

/**
 * A hook that holds something for the length of one forward of its module: `begin` takes it in preForward,
 * `finish` gives it back in postForward, or in onForwardError when the forward throws. A module may be
 * re-entered, so the forwards in flight are counted: `active` is the count before `begin` and after `finish`
 * (0 in `begin` means the outermost call starts, 0 in `finish` means it ends).
 */
export abstract class ForwardScopedHook extends ModelHook {
  private inFlight = 0;

  /** Forwards of this module in flight. */
  protected get active(): number {
    return this.inFlight;
  }

  /** Takes what the forward needs. When it throws, it must give back what it took: the count is not raised. */
  protected abstract begin(module: Module): void;

  /** Gives back what one forward took. */
  protected abstract finish(module: Module): void;

  override preForward(module: Module, args: any[]): any[] {
    this.begin(module);
    this.inFlight++;
    return args;
  }

  override postForward(module: Module, output: any): any {
    this.end(module);
    return output;
  }

  override onForwardError(module: Module): void {
    // Also reached when postForward itself threw after ending its call: then there is nothing to end.
    if (this.inFlight > 0) this.end(module);
  }

  private end(module: Module): void {
    this.inFlight--;
    this.finish(module);
  }
}
