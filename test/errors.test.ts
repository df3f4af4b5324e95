import { describe, expect, it } from 'vitest';
import { ERROR_CODES, HookAlreadyRegisteredError, InvalidArgumentError, MemhooksError, ParameterNotResidentError } from '../src/index.js';

describe('MemhooksError', () => {
  it('carries a stable code and its class name', () => {
    const err = new InvalidArgumentError('bad');
    expect(err).toBeInstanceOf(MemhooksError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    expect(err.name).toBe('InvalidArgumentError');
    expect(new HookAlreadyRegisteredError('h', '"a.b" (Linear)').code).toBe('HOOK_ALREADY_REGISTERED');
    expect(new ParameterNotResidentError('"w" [2]', 'host').code).toBe('PARAMETER_NOT_RESIDENT');
  });

  it('keeps the cause and appends its chain indented, so nested failures read as one message', () => {
    const disk = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const write = new MemhooksError('INVALID_ARGUMENT', 'write of /var/offload/x failed', { cause: disk });
    const offload = new MemhooksError('INVALID_ARGUMENT', 'offload of group blocks_0_1 failed', { cause: write });
    expect(offload.cause).toBe(write);
    expect(offload.message).toBe(
      'offload of group blocks_0_1 failed\n' +
        '  caused by MemhooksError: write of /var/offload/x failed\n' +
        '    caused by Error: ENOSPC: no space left on device',
    );
  });

  it('has unique codes', () => {
    const codes = Object.values(ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
