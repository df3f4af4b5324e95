/**
 * Path calls under node:path's names, served by the registered platform (Platform.ts): Node's own paths
 * under Node (so Windows paths stay Windows paths), POSIX paths in pure code in a page.
 */
import { platform } from './Platform.js';

export function join(...parts: string[]): string {
  return platform().path.join(...parts);
}
export function resolve(...parts: string[]): string {
  return platform().path.resolve(...parts);
}
export function dirname(path: string): string {
  return platform().path.dirname(path);
}
export function basename(path: string): string {
  return platform().path.basename(path);
}
