/**
 * The host calls that are not files or paths (sha256, random bytes, free memory, the process, running a
 * program), served by the registered platform (Platform.ts).
 */
import { platform, type Hash } from './Platform.js';

export type { Hash };

/** An incremental sha256 (Node's crypto under Node; a pure implementation in a page). */
export function createHash(algorithm: 'sha256'): Hash {
  return platform().createHash(algorithm);
}
/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  return platform().randomHex(bytes);
}
/** The host's free memory in bytes, or undefined where it is not known (a page). */
export function freeMemory(): number | undefined {
  return platform().freeMemory();
}
/** The user's home folder, or undefined where there is none. */
export function homeDir(): string | undefined {
  return platform().homeDir();
}
/** An environment variable (never set in a page). */
export function env(name: string): string | undefined {
  return platform().env(name);
}
/** This process's id (0 where there is none). */
export function processId(): number {
  return platform().pid;
}
export function isProcessAlive(pid: number): boolean {
  return platform().isProcessAlive(pid);
}
/** Runs a program without a shell; rejects when it fails or where programs cannot run (a page). */
export function execFile(command: string, args: readonly string[], options: { maxBuffer: number }): Promise<{ stdout: string }> {
  return platform().execFile(command, args, options);
}
export function removeProcessListeners(event: 'uncaughtException' | 'unhandledRejection', test: (listener: Function) => boolean): number {
  return platform().removeProcessListeners(event, test);
}
/**
 * Resolves when memhooks' synchronous file calls can run. In a dedicated Worker of a cross-origin isolated page they
 * go to the OPFS server, a Web Worker that boots only while the importing thread is idle: await this (useBackend does)
 * before the first disk call. Resolves at once under Node and where files are refused.
 */
export function opfsReady(): Promise<void> {
  return platform().filesReady?.() ?? Promise.resolve();
}
