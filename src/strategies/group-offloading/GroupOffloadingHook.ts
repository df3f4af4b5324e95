import { ModelHook } from '../../hooks/ModelHook.js';
import type { Module } from '../../models/Module.js';
import type { GroupRuntime } from './GroupRuntime.js';
import type { ModuleGroup } from './ModuleGroup.js';

/**
 * The hook group offloading puts on every module that onloads a group, and on the root (which also opens
 * and closes each forward: recording the execution order on the first one, sweeping stragglers at the end).
 * The work is in GroupRuntime, shared by every hook of one application; hooks only route calls to it.
 */
export class GroupOffloadingHook extends ModelHook {
  constructor(
    private readonly runtime: GroupRuntime,
    private readonly group: ModuleGroup | undefined,
    private readonly isRoot: boolean,
  ) {
    super();
  }

  override preForward(module: Module, args: any[]): any[] {
    if (this.isRoot) this.runtime.beginForward();
    if (this.group === undefined) return args;
    try {
      this.runtime.enter(this.group, module);
    } catch (error) {
      // Our onForwardError will not run (this preForward did not finish): close the forward here.
      if (this.isRoot) this.runtime.endForward(false);
      throw error;
    }
    return args;
  }

  override postForward(module: Module, output: any): any {
    if (this.group !== undefined) this.runtime.leave(this.group, module, false);
    if (this.isRoot) this.runtime.endForward(true);
    return output;
  }

  override onForwardError(module: Module): void {
    if (this.group !== undefined) this.runtime.leave(this.group, module, true);
    if (this.isRoot) this.runtime.endForward(false);
  }

  /** The module is disposed with the strategy still applied: release staging, files we wrote, the worker. */
  override detachHook(): void {
    if (this.isRoot) this.runtime.detach();
  }

  override toString(): string {
    return `GroupOffloadingHook(${this.group === undefined ? 'root' : this.group.id}${this.isRoot && this.group !== undefined ? ', root' : ''})`;
  }
}
