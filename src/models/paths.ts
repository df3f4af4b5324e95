/**
 * Where a module or parameter sits in its tree. A tree is discovered lazily from fields, so each member
 * remembers the first parent that discovered it (PyTorch's named_modules also names a shared module by its
 * first occurrence). Errors use these links to name the full path of what failed.
 */
const LINK = Symbol('memhooks.link');

export interface ParameterOwner {
  readonly constructor: { name: string };
}

interface Link {
  parent: object;
  key: string;
}

type Linked = { [LINK]?: Link };

export function setOwnerIfUnset(member: object, parent: object, key: string): void {
  const m = member as Linked;
  if (m[LINK] !== undefined || member === parent) return;
  // Non-enumerable so that field discovery never mistakes the parent for a child.
  Object.defineProperty(member, LINK, { value: { parent, key }, enumerable: false, configurable: true, writable: true });
}

/** Forgets the parent link (used when a root is re-labelled, e.g. a wrapped model's root). */
export function clearOwner(member: object): void {
  delete (member as Linked)[LINK];
}

/** Dotted path from the outermost known ancestor, '' for a root. */
export function pathOf(member: object): string {
  const parts: string[] = [];
  let current: object = member;
  for (const parent of ancestorsOf(member)) {
    parts.unshift((current as Linked)[LINK]!.key);
    current = parent;
  }
  return parts.join('.');
}

/** Known ancestors, nearest first. */
export function ancestorsOf(member: object): object[] {
  const out: object[] = [];
  let link = (member as Linked)[LINK];
  while (link !== undefined && !out.includes(link.parent)) {
    out.push(link.parent);
    link = (link.parent as Linked)[LINK];
  }
  return out;
}

/**
 * `"blocks.3" (Linear)` for messages, or just the class (`UNet`) for a root — or for a module whose tree
 * was never walked, whose path is not known yet; claiming "root" there would send people to the wrong place.
 */
export function describeModule(module: object): string {
  const path = pathOf(module);
  const cls = module.constructor?.name ?? 'Module';
  return path === '' ? cls : `"${path}" (${cls})`;
}

/** `"blocks.3.weight" [64, 32]`, falling back to the parameter's label when it was never discovered. */
export function describeParameter(param: { label?: string; shape: readonly number[] }): string {
  const path = pathOf(param);
  const name = path !== '' ? path : (param.label ?? '<undiscovered parameter>');
  return `"${name}" [${param.shape.join(', ')}]`;
}
