/**
 * Strategy names of the offloading family. Offloading strategies move the same weights between tiers, so
 * any two of them on overlapping modules would fight over where a weight lives: each declares the others
 * in `conflictsWith`. The later strategies (sequential offload, model offload, device maps) import these
 * names from here so that the refusal holds both ways.
 */
export const GROUP_OFFLOADING = 'group_offloading' as const;
export const SEQUENTIAL_OFFLOAD = 'sequential_offload' as const;
export const MODEL_CPU_OFFLOAD = 'model_cpu_offload' as const;
export const DEVICE_MAP = 'device_map' as const;

/** Every offloading strategy name; a strategy conflicts with all of them except itself. */
export const OFFLOADING_STRATEGIES = [GROUP_OFFLOADING, SEQUENTIAL_OFFLOAD, MODEL_CPU_OFFLOAD, DEVICE_MAP] as const;

/** The names an offloading strategy called `self` conflicts with. */
export function offloadingConflicts(self: string): readonly string[] {
  return OFFLOADING_STRATEGIES.filter((n) => n !== self);
}

/** The hook name group offloading registers on every module it hooks. */
export const GROUP_OFFLOADING_HOOK = 'group_offloading' as const;
