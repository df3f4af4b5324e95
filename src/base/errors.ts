/**
 * Every error memhooks throws is a MemhooksError: a stable `code` for programs, and a message for people
 * that says what happened, where (module path, parameter, file) and what to do. A lower-level failure is
 * kept in `cause`, and its message is appended indented so that the chain reads as one story.
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_SIZE: 'INVALID_SIZE',
  HOOK_ALREADY_REGISTERED: 'HOOK_ALREADY_REGISTERED',
  INVALID_HOOK: 'INVALID_HOOK',
  HOOK_REMOVAL_REFUSED: 'HOOK_REMOVAL_REFUSED',
  MODULE_NOT_FOUND: 'MODULE_NOT_FOUND',
  PARAMETER_NOT_FOUND: 'PARAMETER_NOT_FOUND',
  PARAMETER_NOT_RESIDENT: 'PARAMETER_NOT_RESIDENT',
  PARAMETER_DISPOSED: 'PARAMETER_DISPOSED',
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  INVALID_MODULE_FIELD: 'INVALID_MODULE_FIELD',
  DUPLICATE_REGISTRATION: 'DUPLICATE_REGISTRATION',
  UNKNOWN_STRATEGY: 'UNKNOWN_STRATEGY',
  STRATEGY_CONFLICT: 'STRATEGY_CONFLICT',
  STRATEGY_APPLY_FAILED: 'STRATEGY_APPLY_FAILED',
  UNSUPPORTED_MODEL: 'UNSUPPORTED_MODEL',
  UNSUPPORTED_LAYER: 'UNSUPPORTED_LAYER',
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  PEER_DEPENDENCY_MISSING: 'PEER_DEPENDENCY_MISSING',
  PRETRAINED_FETCH_FAILED: 'PRETRAINED_FETCH_FAILED',
  WRITE_FAILED: 'WRITE_FAILED',
  UNSAFE_PATH: 'UNSAFE_PATH',
  // checkpoints and device maps (issue #18)
  INVALID_SAFETENSORS: 'INVALID_SAFETENSORS',
  UNSUPPORTED_DTYPE: 'UNSUPPORTED_DTYPE',
  CHECKPOINT_MISMATCH: 'CHECKPOINT_MISMATCH',
  UNKNOWN_MODULE_CLASS: 'UNKNOWN_MODULE_CLASS',
  INVALID_DEVICE_MAP: 'INVALID_DEVICE_MAP',
  // group offloading, device budget, transfer worker, disk offload (issue #19)
  DEVICE_BUDGET_EXCEEDED: 'DEVICE_BUDGET_EXCEEDED',
  TRANSFER_FAILED: 'TRANSFER_FAILED',
  OFFLOAD_FILE_CHANGED: 'OFFLOAD_FILE_CHANGED',
  // layerwise casting (issue #13)
  PARAMETER_LOW_PRECISION: 'PARAMETER_LOW_PRECISION',
  // the platform seam: a call the host cannot serve, such as files in a page (issue #25)
  PLATFORM_UNSUPPORTED: 'PLATFORM_UNSUPPORTED',
  // checkpoints read by byte ranges from a URL, a File or a Blob (issue #27)
  RANGE_READ_FAILED: 'RANGE_READ_FAILED',
  RANGE_REQUESTS_UNSUPPORTED: 'RANGE_REQUESTS_UNSUPPORTED',
  // the memory planner: no candidate fits the budgets given (issue #26)
  PLAN_INFEASIBLE: 'PLAN_INFEASIBLE',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

import { brand } from './brand.js';

function indentCause(cause: unknown): string {
  if (cause === undefined) return '';
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return '\n  caused by ' + text.split('\n').join('\n  ');
}

export class MemhooksError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message + indentCause(options?.cause), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends MemhooksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.INVALID_ARGUMENT, message, options);
  }
}

export class HookAlreadyRegisteredError extends MemhooksError {
  constructor(readonly hookName: string, readonly modulePath: string) {
    super(
      ERROR_CODES.HOOK_ALREADY_REGISTERED,
      `Hook "${hookName}" is already registered on module ${modulePath}. Remove it first or use another name.`,
    );
  }
}

export class ParameterNotResidentError extends MemhooksError {
  constructor(readonly parameterPath: string, readonly tier: string) {
    super(
      ERROR_CODES.PARAMETER_NOT_RESIDENT,
      `Parameter ${parameterPath} is on the "${tier}" tier, not on the device, so it cannot be read. ` +
        `It was most likely used outside the forward of the module whose hooks onload it: call that module's ` +
        `forward (or the wrapped model's predict/apply/execute), or move it back with parameter.toDevice().`,
    );
  }
}

export class ParameterDisposedError extends MemhooksError {
  constructor(readonly parameterPath: string, how = 'it has been disposed') {
    super(
      ERROR_CODES.PARAMETER_DISPOSED,
      `Parameter ${parameterPath} cannot be used: ${how}. Create a new Parameter (or reload the model) before using it.`,
    );
  }
}

export class UnsupportedModelError extends MemhooksError {
  constructor(message: string) {
    super(ERROR_CODES.UNSUPPORTED_MODEL, message);
  }
}

export class UnsupportedLayerError extends MemhooksError {
  constructor(message: string) {
    super(ERROR_CODES.UNSUPPORTED_LAYER, message);
  }
}

export class StrategyConflictError extends MemhooksError {
  constructor(message: string) {
    super(ERROR_CODES.STRATEGY_CONFLICT, message);
  }
}

// Errors thrown by another copy of memhooks in the process (its other build) pass instanceof checks too.
for (const [cls, name] of [
  [MemhooksError, 'MemhooksError'],
  [InvalidArgumentError, 'InvalidArgumentError'],
  [HookAlreadyRegisteredError, 'HookAlreadyRegisteredError'],
  [ParameterNotResidentError, 'ParameterNotResidentError'],
  [ParameterDisposedError, 'ParameterDisposedError'],
  [UnsupportedModelError, 'UnsupportedModelError'],
  [UnsupportedLayerError, 'UnsupportedLayerError'],
  [StrategyConflictError, 'StrategyConflictError'],
] as const) {
  brand(cls, `error.${name}`);
}
