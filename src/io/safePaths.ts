import { lstatSync } from '../base/platform/fs.js';
import * as path from '../base/platform/path.js';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';

/**
 * File names that come from a file (a shard list in model.json, a safetensors index) are attacker-controlled:
 * joined onto a directory unchecked, `../x` or an absolute path reads any file on the machine (transformers,
 * accelerate and tfjs-node all shipped that bug). A name must be one plain file name, checked under both
 * POSIX and Windows rules whatever the platform, and must resolve to a regular file inside the directory.
 */
export function resolveFileInside(dir: string, name: unknown, what: string): string {
  if (typeof name !== 'string' || !isPlainFileName(name)) {
    throw new MemhooksError(
      ERROR_CODES.UNSAFE_PATH,
      `${what} names the file ${JSON.stringify(name)}, which is not a plain file name inside ${dir}. ` +
        `Only names without directories ('/', '\\\\'), drive letters, '.' or '..' are accepted; the file may have been tampered with.`,
    );
  }
  const root = path.resolve(dir);
  const resolved = path.resolve(root, name);
  if (path.dirname(resolved) !== root) {
    throw new MemhooksError(ERROR_CODES.UNSAFE_PATH, `${what}: ${JSON.stringify(name)} resolves outside ${dir}.`);
  }
  let stat;
  try {
    stat = lstatSync(resolved);
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.UNSAFE_PATH, `${what} names ${JSON.stringify(name)}, which does not exist in ${dir}.`, { cause });
  }
  if (!stat.isFile()) {
    throw new MemhooksError(
      ERROR_CODES.UNSAFE_PATH,
      `${what} names ${JSON.stringify(name)} in ${dir}, which is not a regular file (a link, a directory or a device); it is refused.`,
    );
  }
  return resolved;
}

/**
 * One file name valid on POSIX and Windows alike: not empty, not '.' or '..', at most 255 characters, no
 * separators, drive colon, control characters or `<>"|?*`, no trailing dot or space, and not a Windows
 * device name (CON, PRN, AUX, NUL, COM1–9, LPT1–9, with or without an extension).
 */
export function isPlainFileName(name: string): boolean {
  if (name === '' || name === '.' || name === '..' || name.length > 255) return false;
  if (/[/\\\u0000-\u001f:<>"|?*]/.test(name)) return false;
  if (/[. ]$/.test(name)) return false;
  return !/^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i.test(name);
}
