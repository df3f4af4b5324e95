/**
 * What memhooks uses of the Origin Private File System and of the page's storage manager (the DOM types are not in
 * this project's lib), and the shapes the OPFS server and its clients exchange.
 */

/** A file's synchronous access handle (dedicated Workers only): positioned reads and writes, exclusive per file. */
export interface OpfsSyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  getSize(): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/** A stream that writes a file's new content, committed at close (an aborted one leaves the file as it was). */
export interface OpfsWritable {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export interface OpfsFileHandle {
  readonly kind: 'file';
  readonly name: string;
  getFile(): Promise<{ size: number; lastModified: number; arrayBuffer(): Promise<ArrayBuffer> }>;
  createSyncAccessHandle?(): Promise<OpfsSyncAccessHandle>;
  createWritable(options?: { keepExistingData?: boolean }): Promise<OpfsWritable>;
  move?(directory: OpfsDirectoryHandle, name: string): Promise<void>;
}

export interface OpfsDirectoryHandle {
  readonly kind: 'directory';
  readonly name: string;
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterable<string>;
}

/** navigator.storage, as far as memhooks uses it. */
export interface OpfsStorage {
  getDirectory(): Promise<OpfsDirectoryHandle>;
  estimate(): Promise<{ usage?: number; quota?: number }>;
}

/** A file's status as the OPFS operations report it (plain data: it crosses threads). */
export interface OpfsStat {
  kind: 'file' | 'directory';
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** An error of an OPFS operation, as Node's file errors carry it: a code (ENOENT, EEXIST, EDQUOT...) and a message. */
export interface OpfsErrorData {
  code: string;
  message: string;
}

/**
 * The layout of a mailbox (a SharedArrayBuffer): Int32 words, a text area for requests and replies (JSON) and a
 * scratch area for the bytes of reads and writes. The server and every client receive this very object, serialised.
 */
export const MAILBOX = Object.freeze({
  /** Int32 index of the lock word (0 free, 1 held): one request at a time per mailbox, whichever thread sends it. */
  LOCK: 0,
  /** Int32 index of the state word, and its values. */
  STATE: 1,
  IDLE: 0,
  REQUEST: 1,
  REPLY: 2,
  /** Int32 indexes of the request's and the reply's length in bytes. */
  REQUEST_LENGTH: 2,
  REPLY_LENGTH: 3,
  /** Int32 index of the word the server sets to 1 when it serves this mailbox. */
  READY: 4,
  /** Byte offset and capacity of the text area. */
  TEXT_AT: 64,
  TEXT_MAX: 256 * 1024,
  /** Byte offset of the scratch area (it runs to the end of the buffer). */
  SCRATCH_AT: 64 + 256 * 1024,
} as const);
export type MailboxLayout = { readonly [K in keyof typeof MAILBOX]: number };
