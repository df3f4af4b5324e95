import { describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { isRethrowOnlyListener } from '../../src/runtime/rethrowListeners.js';

type Listener = Function;
const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
const listeners = (): Record<string, Listener[]> => ({ uncaughtException: [...process.listeners('uncaughtException')], unhandledRejection: [...process.listeners('unhandledRejection')] });

/**
 * tfjs-backend-wasm's glue adds process listeners that re-throw every uncaught error, which makes Node print
 * the glue's source line (30 KB when minified) instead of the throw site. useBackend('wasm') leaves none.
 */
describe('useBackend("wasm") and the wasm glue\'s process listeners', () => {
  it('leaves no listener behind that re-throws uncaught errors from inside the wasm glue', async () => {
    const before = listeners();
    await useBackend('wasm'); // the first wasm start in this test file's process
    const after = listeners();
    for (const event of EVENTS) {
      const added = after[event]!.filter((l) => !before[event]!.includes(l));
      expect(added.map(String), event).toEqual([]);
      expect(after[event]!.filter(isRethrowOnlyListener).map(String), event).toEqual([]);
    }
    // Starting it again (a later useBackend) changes nothing either.
    await useBackend('cpu');
    await useBackend('wasm');
    expect(listeners()).toEqual(after);
  });

  it('recognizes the glue\'s listeners, minified or not, and nothing else', () => {
    const sources = [
      'function (ex) { if (!(ex instanceof ExitStatus)) {\n throw ex;\n } }',
      'function(ex){if(!(ex instanceof ExitStatus)){throw ex}}',
      'function(a){if(!(a instanceof Ya))throw a}',
      'function (reason) { throw reason; }',
      'function(b){throw b}',
    ];
    // Built from source text so that the test sees exactly the glue's shapes.
    for (const body of sources) expect(isRethrowOnlyListener(new Function(`return ${body}`)()), body).toBe(true);
    const others = [
      'function (ex) { console.error(ex); process.exit(1); }',
      'function (ex) { throw new Error("wrapped", { cause: ex }); }',
      'function(a){if(!(a instanceof Ya))throw b}',
    ];
    for (const body of others) expect(isRethrowOnlyListener(new Function(`return ${body}`)()), body).toBe(false);
  });
});
