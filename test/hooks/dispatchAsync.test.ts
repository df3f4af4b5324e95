import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, HookRegistry, MemhooksError, ModelHook, type Module } from '../../src/index.js';
import { forwardAsync } from '../../src/hooks/dispatchAsync.js';
import { checkHookGuard, setHookGuard } from '../../src/hooks/hookGuard.js';
import { useBackend } from '../helpers/backends.js';
import { LogHook, Recorder, WrapHook } from '../helpers/modules.js';

beforeAll(() => useBackend('cpu'));

/** Logs its onForwardError too. */
class ErrorLogHook extends LogHook {
  override onForwardError(_m: Module, error: unknown): void {
    this.log.push(`${this.label}.error:${(error as Error).message}`);
  }
}

describe('forwardAsync (the hooks of a module around an asynchronous body)', () => {
  it('runs preForwards outermost first, awaits the body, then postForwards innermost first', async () => {
    const log: string[] = [];
    const m = new Recorder(log);
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    registry.registerHook(new LogHook('inner', log), 'inner');
    registry.registerHook(new LogHook('outer', log), 'outer');
    const out = await forwardAsync(m, ['a'], async (args) => {
      log.push(`body.start:${String(args[0])}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.push('body.end');
      return 42;
    }, 'test');
    expect(out).toBe(42);
    expect(log).toEqual(['outer.pre', 'inner.pre', 'body.start:a', 'body.end', 'inner.post', 'outer.post']);
  });

  it('runs each onForwardError, innermost first, when the body rejects, and rejects with the same error', async () => {
    const log: string[] = [];
    const m = new Recorder(log);
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    registry.registerHook(new ErrorLogHook('inner', log), 'inner');
    registry.registerHook(new ErrorLogHook('outer', log), 'outer');
    const boom = new Error('boom');
    await expect(forwardAsync(m, [], () => Promise.reject(boom), 'test')).rejects.toBe(boom);
    expect(log).toEqual(['outer.pre', 'inner.pre', 'inner.error:boom', 'outer.error:boom']);
  });

  it('refuses a hook with newForward before any hook runs, naming it', async () => {
    const log: string[] = [];
    const m = new Recorder(log);
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    registry.registerHook(new LogHook('plain', log), 'plain');
    registry.registerHook(new WrapHook('wrap', log), 'wrapping');
    let ran = false;
    const call = forwardAsync(m, [], async () => (ran = true), 'model.executeAsync()');
    await expect(call).rejects.toThrow(MemhooksError);
    await expect(call).rejects.toThrow(/model\.executeAsync\(\).*"wrapping" \(WrapHook\) replace the forward \(newForward\)/);
    expect(ran).toBe(false);
    expect(log).toEqual([]);
  });
});

describe('hook guards', () => {
  it('a guarded module refuses registration with the guard\'s error before initializeHook runs; unguarded, it accepts', () => {
    const m = new Recorder();
    const initialized: string[] = [];
    class Init extends ModelHook {
      override initializeHook(): void {
        initialized.push('init');
      }
    }
    setHookGuard(m, (name) => {
      throw new MemhooksError(ERROR_CODES.UNSUPPORTED_MODEL, `no hook "${name}" here`);
    });
    expect(() => checkHookGuard(m, 'x')).toThrow(/no hook "x" here/);
    expect(() => HookRegistry.checkIfExistsOrInitialize(m).registerHook(new Init(), 'mine')).toThrow(/no hook "mine" here/);
    expect(initialized).toEqual([]);
    expect(HookRegistry.get(m)?.hookOrder).toEqual([]);
    setHookGuard(m, undefined);
    HookRegistry.checkIfExistsOrInitialize(m).registerHook(new Init(), 'mine');
    expect(initialized).toEqual(['init']);
  });
});
