// The Origin Private File System reached directly (not through memhooks), as a user or the browser would change it
// behind a model's back. Works on a page's main thread and in a Worker.
import type { OpfsDirectoryHandle, OpfsFileHandle } from '../../src/base/platform/opfs/types.js';

function opfs(): Promise<OpfsDirectoryHandle> {
  return (globalThis as unknown as { navigator: { storage: { getDirectory(): Promise<OpfsDirectoryHandle> } } }).navigator.storage.getDirectory();
}

async function parentOf(path: string): Promise<{ dir: OpfsDirectoryHandle; name: string }> {
  const parts = path.split('/').filter((p) => p !== '');
  let dir = await opfs();
  for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part);
  return { dir, name: parts[parts.length - 1]! };
}

async function fileAt(path: string): Promise<OpfsFileHandle> {
  const { dir, name } = await parentOf(path);
  return dir.getFileHandle(name);
}

/** Rewrites the file with one byte flipped near its end: same size, new content. */
export async function opfsRewrite(path: string): Promise<void> {
  const file = await fileAt(path);
  const bytes = new Uint8Array(await (await file.getFile()).arrayBuffer());
  bytes[bytes.length - 5]! ^= 0xff;
  // lastModified has millisecond resolution: a rewrite in the millisecond of the write would look untouched.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const writable = await file.createWritable();
  await writable.write(bytes);
  await writable.close();
}

/** Deletes the file, as clearing the site's storage does. */
export async function opfsRemove(path: string): Promise<void> {
  const { dir, name } = await parentOf(path);
  await dir.removeEntry(name);
}
