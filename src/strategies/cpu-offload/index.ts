export { applySequentialOffload } from './applySequentialOffload.js';
export { SequentialOffloadStrategy, type SequentialOffloadOptions } from './SequentialOffloadStrategy.js';
export { cpuOffloadWithHook, type CpuOffloadHandle, type CpuOffloadWithHookOptions } from './cpuOffloadWithHook.js';
export { ModelOffloadStrategy } from './ModelOffloadStrategy.js';
