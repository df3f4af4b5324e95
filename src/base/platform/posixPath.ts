/**
 * POSIX path calls in pure code, for the browser platform (a page has no node:path). They follow
 * node:path/posix for the inputs memhooks gives them; a page has no working directory, so `resolve` starts at '/'.
 */

function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(segment);
  }
  const body = out.join('/');
  return absolute ? `/${body}` : body === '' ? '.' : body;
}

export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined === '' ? '.' : normalize(joined);
}

export function resolve(...parts: string[]): string {
  let path = '';
  for (let i = parts.length - 1; i >= 0 && !path.startsWith('/'); i--) {
    if (parts[i] !== '') path = path === '' ? parts[i]! : `${parts[i]}/${path}`;
  }
  return normalize(path.startsWith('/') ? path : `/${path}`);
}

/** `path` without its trailing slashes (the root stays '/'). */
function trimEnd(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' && path.startsWith('/') ? '/' : trimmed;
}

export function dirname(path: string): string {
  const p = trimEnd(path);
  if (p === '/') return '/';
  const at = p.lastIndexOf('/');
  if (at < 0) return '.';
  return at === 0 ? '/' : p.slice(0, at);
}

export function basename(path: string): string {
  const p = trimEnd(path);
  return p === '/' ? '' : p.slice(p.lastIndexOf('/') + 1);
}
