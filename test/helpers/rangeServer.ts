// A local HTTP server for the URL-reading tests (node:http on 127.0.0.1, port 0): serves files from memory with
// HTTP range requests as a static file server does (206, Content-Range, Content-Length, ETag, CORS for pages), and
// misbehaves on demand (`fault`) the ways real servers and proxies do.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type FaultKind =
  | 'ignoreRange' // 200 with the whole file, as a server without range support
  | 'notFound' // 404
  | 'truncate' // the declared length, half the body, then the connection closes
  | 'wrongLength' // Content-Length and body one byte short of the range asked
  | 'shortBody' // no Content-Length (chunked), one byte short
  | 'longBody' // no Content-Length (chunked), one byte more
  | 'wrongRange' // Content-Range starting one byte late
  | 'wrongTotal' // Content-Range with a total one byte more
  | 'noContentRange' // 206 without Content-Range
  | 'changedEtag'; // another ETag, as a file replaced on the server

export interface Fault {
  kind: FaultKind;
  /** Only requests for this path (e.g. '/m/model.safetensors'); default every path. */
  path?: string;
  /** Only requests whose Range starts past this byte (e.g. not the header); default any. */
  fromByte?: number;
}

export interface LoggedRequest {
  path: string;
  range: string | undefined;
}

export class RangeServer {
  readonly files = new Map<string, Uint8Array>();
  readonly requests: LoggedRequest[] = [];
  fault: Fault | undefined;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<RangeServer> {
    let self: RangeServer | undefined;
    const server = createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new RangeServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Serves every file under `dir` at `<prefix>/<relative path>`; returns the folder URL (with its slash). */
  serveDir(dir: string, prefix: string): string {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isFile()) this.files.set(`${prefix}/${name}`, new Uint8Array(readFileSync(path)));
    }
    return `${this.origin}${prefix}/`;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // A page on another origin (the browser suite's vite server) may read everything, Range included.
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Range, Authorization');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', this.origin).pathname);
    const range = req.headers.range;
    this.requests.push({ path, range });
    const body = this.files.get(path);
    const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
    const start = match ? Number(match[1]) : 0;
    const fault = this.fault !== undefined && (this.fault.path === undefined || this.fault.path === path) && start >= (this.fault.fromByte ?? 0) ? this.fault.kind : undefined;
    if (body === undefined || fault === 'notFound') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const etag = fault === 'changedEtag' ? '"v2"' : '"v1"';
    if (match === null || fault === 'ignoreRange') {
      res.writeHead(200, { 'Content-Length': body.byteLength, ETag: etag, 'Content-Type': 'application/octet-stream' }).end(body);
      return;
    }
    if (start >= body.byteLength) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.byteLength}` }).end();
      return;
    }
    const end = Math.min(Number(match[2]) + 1, body.byteLength);
    let part = body.subarray(start, end);
    const total = fault === 'wrongTotal' ? body.byteLength + 1 : body.byteLength;
    const first = fault === 'wrongRange' ? start + 1 : start;
    const headers: Record<string, string | number> = { ETag: etag, 'Content-Type': 'application/octet-stream' };
    if (fault !== 'noContentRange') headers['Content-Range'] = `bytes ${first}-${end - 1}/${total}`;
    if (fault === 'wrongLength') part = part.subarray(0, part.byteLength - 1);
    if (fault === 'shortBody') part = part.subarray(0, part.byteLength - 1);
    if (fault === 'longBody') part = Uint8Array.from([...part, 0]);
    if (fault !== 'shortBody' && fault !== 'longBody') headers['Content-Length'] = part.byteLength;
    res.writeHead(206, headers);
    if (fault === 'truncate') {
      res.write(part.subarray(0, part.byteLength >> 1), () => res.socket?.destroy());
      return;
    }
    res.end(part);
  }
}
