import type { OpfsOps } from './opfsOps.js';
import type { MailboxLayout } from './types.js';

/** What the OPFS server uses of its Worker's global scope. */
export interface OpfsServerScope {
  onmessage: ((event: { data: unknown }) => void) | null;
}

/** A request in a mailbox: an operation of OpfsOps and its arguments (plain data, JSON). */
export interface OpfsRequest {
  op: string;
  args: unknown[];
}

/**
 * The OPFS server's whole program, in a Web Worker of its own: it owns the synchronous access handles and makes
 * the asynchronous calls (opening files, directories, estimate) for clients that block. A client (a dedicated Worker
 * running a model, or the transfer worker) writes a request into its mailbox (a SharedArrayBuffer, received here by
 * message), sets the state word and blocks on it with Atomics.wait; this server wakes with Atomics.waitAsync, runs
 * the request, writes the reply and notifies. The bytes of reads and writes travel through the mailbox's scratch
 * area. Requests of every mailbox run one at a time, in arrival order, so the operations' state needs no lock.
 *
 * Closed, as the transfer worker's program is (runtime/transfer/workerMain.ts): serverSource.ts serialises it.
 */
export function runOpfsServer(scope: OpfsServerScope, ops: OpfsOps, layout: MailboxLayout): void {
  const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> | unknown } }).waitAsync;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let queue: Promise<unknown> = Promise.resolve();

  async function run(request: OpfsRequest, scratch: Uint8Array): Promise<unknown> {
    const a = request.args as never[];
    switch (request.op) {
      case 'read':
        return ops.read(a[0], scratch.subarray(0, a[1]), a[2]);
      case 'write':
        return ops.write(a[0], scratch.subarray(0, a[1]));
      case 'open':
        return ops.open(a[0], a[1]);
      case 'fstat':
        return ops.fstat(a[0]);
      case 'fsync':
        return ops.flush(a[0]);
      case 'close':
        return ops.close(a[0]);
      case 'stat':
        return ops.stat(a[0]);
      case 'exists':
        return ops.exists(a[0]);
      case 'mkdir':
        return ops.mkdir(a[0], a[1]);
      case 'readdir':
        return ops.readdir(a[0]);
      case 'rm':
        return ops.rm(a[0], a[1], a[2]);
      case 'rmdir':
        return ops.rmdir(a[0]);
      case 'rename':
        return ops.rename(a[0], a[1]);
      case 'statfs':
        return ops.statfs();
      default:
        throw Object.assign(new Error('unknown OPFS request ' + request.op), { code: 'ENOSYS' });
    }
  }

  async function answer(box: SharedArrayBuffer): Promise<void> {
    const ctl = new Int32Array(box);
    const bytes = new Uint8Array(box);
    const length = Atomics.load(ctl, layout.REQUEST_LENGTH);
    let reply: { ok?: unknown; error?: { code: string; message: string; quota?: number; usage?: number } };
    try {
      // A copy: TextDecoder does not read shared memory.
      const request = JSON.parse(decoder.decode(bytes.slice(layout.TEXT_AT, layout.TEXT_AT + length))) as OpfsRequest;
      const ok = await run(request, new Uint8Array(box, layout.SCRATCH_AT));
      reply = { ok: ok === undefined ? null : ok };
    } catch (e) {
      const code = String((e as { code?: unknown }).code ?? 'EIO');
      const message = String((e instanceof Error && e.message) || e);
      reply = { error: { code, message } };
      if (code === 'EDQUOT') {
        // The quota and what is used of it, for the message the user reads.
        const s = await ops.statfs().catch(() => undefined);
        if (s !== undefined) reply.error = { code, quota: s.quota, usage: s.usage, message: `${message} (the origin's storage quota is ${s.quota} bytes, of which ${s.usage} are used)` };
      }
    }
    let text = encoder.encode(JSON.stringify(reply));
    if (text.length > layout.TEXT_MAX) text = encoder.encode(JSON.stringify({ error: { code: 'E2BIG', message: 'the reply does not fit the mailbox (' + text.length + ' bytes)' } }));
    bytes.set(text, layout.TEXT_AT);
    Atomics.store(ctl, layout.REPLY_LENGTH, text.length);
    Atomics.store(ctl, layout.STATE, layout.REPLY);
    Atomics.notify(ctl, layout.STATE);
  }

  function serve(box: SharedArrayBuffer): void {
    const ctl = new Int32Array(box);
    const next = (): void => {
      const state = Atomics.load(ctl, layout.STATE);
      if (state === layout.REQUEST) {
        queue = queue.then(() => answer(box)).then(next, next);
        return;
      }
      const waited = waitAsync(ctl, layout.STATE, state);
      if (waited.async) void (waited.value as Promise<unknown>).then(next);
      else next();
    };
    Atomics.store(ctl, layout.READY, 1);
    Atomics.notify(ctl, layout.READY);
    next();
  }

  scope.onmessage = (event) => {
    const mailbox = (event.data as { mailbox?: unknown } | null)?.mailbox;
    if (mailbox instanceof SharedArrayBuffer) serve(mailbox);
  };
}
