/**
 * Where a module or parameter sits in its tree. A tree is discovered lazily from fields by depth-first walks,
 * and each member remembers the parent through which a walk first reached it (PyTorch's named_modules also
 * names a shared module by its first occurrence). Errors use these links to name the full path of what failed.
 */
// Process-global: both copies of memhooks in a process (its ESM and CJS builds) must see the same links.
const LINK = Symbol.for('memhooks.link');

interface Link {
  parent: object;
  key: string;
  /** The module the walk that set this link started from. */
  root: object;
}

type Linked = { [LINK]?: Link };

/**
 * Links `member` under `parent` during a walk that started at `walkRoot`. The first walk to reach a member
 * names it — except that a walk from a true root (a module nobody links to) replaces links left by an
 * earlier walk of one of its subtrees (whose start now has a parent): the root's depth-first order is the
 * canonical one, whichever part of the tree ran first.
 */
export function linkMember(member: object, parent: object, key: string, walkRoot: object): void {
  if (member === parent) return;
  const existing = (member as Linked)[LINK];
  if (existing !== undefined) {
    const fromSubtreeWalk = existing.root !== walkRoot && (existing.root as Linked)[LINK] !== undefined;
    if (!fromSubtreeWalk || (walkRoot as Linked)[LINK] !== undefined) return;
  }
  // Non-enumerable so that field discovery never mistakes the parent for a child.
  Object.defineProperty(member, LINK, { value: { parent, key, root: walkRoot }, enumerable: false, configurable: true, writable: true });
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

/** What a wrong argument was, for messages: `null`, `a number`, `a plain object`, `a GraphModel object`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  const ctor = (value as object).constructor;
  return ctor === Object ? 'a plain object' : `a ${ctor?.name ?? 'null-prototype'} object`;
}
