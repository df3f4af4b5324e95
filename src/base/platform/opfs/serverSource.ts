import { createOpfsClient } from './clientMain.js';
import { createOpfsOps } from './opfsOps.js';
import { runOpfsServer } from './serverMain.js';
import { MAILBOX } from './types.js';

/** How long a synchronous call waits for the server before it fails (a server that died, or never started). */
export const CLIENT_TIMEOUT_MS = 120_000;

/**
 * The OPFS server's program, a classic script for a Web Worker started from a Blob URL: runOpfsServer's and
 * createOpfsOps' own text (both closed), over the Worker's navigator.storage, with the mailbox layout serialised.
 */
export const OPFS_SERVER_SOURCE = `'use strict';
(${runOpfsServer.toString()})(self, (${createOpfsOps.toString()})(navigator.storage), ${JSON.stringify(MAILBOX)});
`;

/**
 * An expression for the page's transfer worker: a function of a mailbox that returns the synchronous OPFS calls
 * over it (createOpfsClient's own text), which its read jobs use as `host.files`.
 */
export const OPFS_CLIENT_EXPRESSION = `((mailbox) => (${createOpfsClient.toString()})(mailbox, ${JSON.stringify(MAILBOX)}, ${CLIENT_TIMEOUT_MS}))`;
