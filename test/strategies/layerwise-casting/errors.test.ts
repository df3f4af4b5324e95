import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyLayerwiseCasting, appliedStrategies, InvalidArgumentError, MemhooksError, StrategyConflictError, type Module } from '../../../src/index.js';
import { useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { Caster } from './models.js';

function snapshot(model: Module): string {
  return JSON.stringify(model.namedParameters().map(([path, p]) => [path, p.storageDtype, p.tier, Array.from(p.read().dataSync())]));
}

describe('layerwise casting refuses bad input and changes nothing', () => {
  beforeAll(() => useBackend('cpu'));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));

  const cases: Array<[string, unknown, RegExp]> = [
    ['an unknown storage dtype, listing the valid ones', { storageDtype: 'float8_e4m3' }, /storageDtype "float8_e4m3".*Valid storage dtypes: float16, bfloat16, float8_e4m3fn, float8_e5m2\./],
    ['float32 as a storage dtype', { storageDtype: 'float32' }, /Valid storage dtypes: float16, bfloat16, float8_e4m3fn, float8_e5m2/],
    ['a compute dtype other than float32, with the reason', { computeDtype: 'bfloat16' }, /computeDtype "bfloat16" is not supported: tfjs kernels compute in float32/],
    ['a pattern that is not a regular expression', { skipModulesPattern: ['(norm'] }, /skipModulesPattern\[0\] "\(norm" is not a valid regular expression/],
    ['a skip class that is not a Module class', { skipModulesClasses: [Date] }, /skipModulesClasses\[0\] must be a Module subclass/],
    ['a non-boolean nonBlocking', { nonBlocking: 'yes' }, /nonBlocking must be a boolean/],
    ['an unknown option', { storage: 'float16' }, /applyLayerwiseCasting: `storage` is not one of its options.*Valid options: storageDtype/],
    ['an unknown decode site', { decodeSite: 'gpu' }, /decodeSite must be one of auto, host, device/],
  ];

  it.each(cases)('refuses %s', (_label, options, message) => {
    const model = new Caster();
    models.push(model);
    const before = snapshot(model);
    expectNoLeaks(() => {
      expect(() => applyLayerwiseCasting(model, options as never)).toThrow(InvalidArgumentError);
      expect(() => applyLayerwiseCasting(model, options as never)).toThrow(message);
      expect(snapshot(model)).toBe(before);
    });
    expect(appliedStrategies(model)).toEqual([]);
  });

  it('refuses a second application on overlapping modules', () => {
    const model = new Caster();
    models.push(model);
    const handle = applyLayerwiseCasting(model);
    expect(() => applyLayerwiseCasting(model.blocks.at(0))).toThrow(StrategyConflictError);
    handle.remove();
    handle.remove(); // idempotent
    expect(() => applyLayerwiseCasting(model.blocks.at(0)).remove()).not.toThrow();
  });

  it('every error is a MemhooksError with a stable code', () => {
    const model = new Caster();
    models.push(model);
    try {
      applyLayerwiseCasting(model, { storageDtype: 'int8' as never });
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(MemhooksError);
      expect((e as MemhooksError).code).toBe('INVALID_ARGUMENT');
    }
  });
});
