/**
 * The asynchronous file calls, under node:fs/promises' names, served by the registered platform
 * (Platform.ts): `import * as fs from '../base/platform/fsPromises.js'`.
 */
import { platform, type FileHandle, type FileStats } from './Platform.js';

export type { FileHandle };

const files = () => platform().filesAsync;

export function open(path: string, flags: string): Promise<FileHandle> {
  return files().open(path, flags);
}
export function stat(path: string): Promise<FileStats> {
  return files().stat(path);
}
export function readFile(path: string, encoding: 'utf8'): Promise<string> {
  return files().readFile(path, encoding);
}
export function writeFile(path: string, data: string | Uint8Array): Promise<void> {
  return files().writeFile(path, data);
}
export function readdir(path: string): Promise<string[]> {
  return files().readdir(path);
}
export function mkdir(path: string, options?: { recursive?: boolean }): Promise<string | undefined> {
  return files().mkdir(path, options);
}
export function mkdtemp(prefix: string): Promise<string> {
  return files().mkdtemp(prefix);
}
export function rename(from: string, to: string): Promise<void> {
  return files().rename(from, to);
}
export function rm(path: string, options?: { force?: boolean; recursive?: boolean }): Promise<void> {
  return files().rm(path, options);
}
