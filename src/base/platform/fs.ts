/**
 * The synchronous file calls, under node:fs's names, served by the registered platform (Platform.ts). A
 * module that used node:fs imports these instead: `import * as fs from '../base/platform/fs.js'`.
 */
import { platform, type FileStats } from './Platform.js';

export type Stats = FileStats;

const files = () => platform().files;

export const constants = {
  get W_OK(): number {
    return files().constants.W_OK;
  },
};

export function openSync(path: string, flags: string): number {
  return files().openSync(path, flags);
}
export function readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
  return files().readSync(fd, buffer, offset, length, position);
}
export function writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number {
  return files().writeSync(fd, buffer, offset, length);
}
export function fstatSync(fd: number): FileStats {
  return files().fstatSync(fd);
}
export function fsyncSync(fd: number): void {
  files().fsyncSync(fd);
}
export function fchmodSync(fd: number, mode: number): void {
  files().fchmodSync(fd, mode);
}
export function closeSync(fd: number): void {
  files().closeSync(fd);
}
export function existsSync(path: string): boolean {
  return files().existsSync(path);
}
export function statSync(path: string): FileStats {
  return files().statSync(path);
}
export function lstatSync(path: string): FileStats {
  return files().lstatSync(path);
}
export function statfsSync(path: string): { bavail: number | bigint; bsize: number | bigint } {
  return files().statfsSync(path);
}
export function accessSync(path: string, mode: number): void {
  files().accessSync(path, mode);
}
export function readFileSync(path: string): Uint8Array;
export function readFileSync(path: string, encoding: 'utf8'): string;
export function readFileSync(path: string, encoding?: 'utf8'): Uint8Array | string {
  return encoding === undefined ? files().readFileSync(path) : files().readFileSync(path, encoding);
}
export function readdirSync(path: string): string[] {
  return files().readdirSync(path);
}
export function mkdirSync(path: string, options?: { recursive?: boolean }): string | undefined {
  return files().mkdirSync(path, options);
}
export function renameSync(from: string, to: string): void {
  files().renameSync(from, to);
}
export function rmSync(path: string, options?: { force?: boolean; recursive?: boolean }): void {
  files().rmSync(path, options);
}
export function rmdirSync(path: string): void {
  files().rmdirSync(path);
}
