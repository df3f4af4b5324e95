import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../../base/errors.js';
import { closedError, describeRange, RangeReadError, targetFor, type ByteRanges } from './byteRanges.js';

/** How a safetensors file (or a checkpoint) is read from a URL. */
export interface UrlReadOptions {
  /**
   * When the server ignores `Range` and answers with the whole file (200 instead of 206), read that whole
   * file into memory once and serve every tensor from it. Default false: such a server is refused with a
   * RANGE_REQUESTS_UNSUPPORTED error, because the point of range requests is never to hold the file.
   */
  allowFullDownload?: boolean;
  /** Extra request headers sent with every request (an `Authorization` token, say). */
  headers?: Record<string, string>;
  /** The fetch to use; default the global `fetch` (Node ≥ 18, every page). */
  fetch?: (url: string, init: { headers: Record<string, string> }) => Promise<Response>;
}

/** The first request asks for this much: the 8-byte length and, for most files, the whole header with it. */
export const FIRST_REQUEST_BYTES = 64 * 1024;

/** A URL read by HTTP range requests, each answer checked against what was asked (status, Content-Range, length). */
export class HttpRanges implements ByteRanges {
  private closed = false;

  private constructor(
    readonly location: string,
    readonly total: number,
    private readonly options: UrlReadOptions,
    private readonly validator: string | undefined,
    private whole: Uint8Array | undefined,
  ) {}

  /** Sends the first ranged request; returns the reader and the bytes it brought (the start of the file). */
  static async open(url: string | URL, options: UrlReadOptions = {}): Promise<{ ranges: HttpRanges; prefix: Uint8Array }> {
    const href = httpUrl(url);
    const response = await send(href, 0, FIRST_REQUEST_BYTES, 'the header', options);
    if (response.status === 200) {
      if (options.allowFullDownload !== true) {
        await response.body?.cancel().catch(() => undefined);
        const size = response.headers.get('content-length');
        throw new MemhooksError(
          ERROR_CODES.RANGE_REQUESTS_UNSUPPORTED,
          `${href} answered the request for ${describeRange(0, FIRST_REQUEST_BYTES)} with the whole file (200 instead of 206 Partial Content${size === null ? '' : `, ${size} bytes`}): ` +
            `the server does not honour Range requests. Serve the file from a server that does, or pass allowFullDownload: true to read the whole file into memory once.`,
        );
      }
      const whole = await readWhole(href, response);
      const ranges = new HttpRanges(href, whole.byteLength, options, validatorOf(response), whole);
      return { ranges, prefix: whole.subarray(0, Math.min(FIRST_REQUEST_BYTES, whole.byteLength)) };
    }
    // The total is not known yet: the answer's own total bounds what a correct server returns.
    const span = contentRange(href, response, 0, FIRST_REQUEST_BYTES, 'the header', undefined);
    const prefix = new Uint8Array(span.end - span.start);
    await readBody(href, response, prefix, 'the header', span.start, span.end);
    return { ranges: new HttpRanges(href, span.total, options, validatorOf(response), undefined), prefix };
  }

  async read(start: number, end: number, what: string, into?: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw closedError(this.location);
    if (start < 0 || end > this.total || end < start) {
      throw new RangeReadError(`Reading ${what} of ${this.location}: ${describeRange(start, end)} lies outside its ${this.total} bytes.`);
    }
    const target = targetFor(start, end, into, this.location);
    if (end === start) return target; // A Range header cannot ask for zero bytes, and nothing is needed.
    if (this.whole !== undefined) {
      target.set(this.whole.subarray(start, end));
      return target;
    }
    const response = await send(this.location, start, end, what, this.options);
    if (response.status === 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new MemhooksError(
        ERROR_CODES.RANGE_REQUESTS_UNSUPPORTED,
        `${this.location} answered the request for ${what} (${describeRange(start, end)}) with the whole file (200 instead of 206 Partial Content), though it honoured ranges before. Check the server (or a proxy before it).`,
      );
    }
    contentRange(this.location, response, start, end, what, this.total);
    const validator = validatorOf(response);
    if (this.validator !== undefined && validator !== undefined && validator !== this.validator) {
      await response.body?.cancel().catch(() => undefined);
      throw new RangeReadError(`${this.location} changed on the server since it was opened (ETag/Last-Modified ${this.validator} → ${validator}) while reading ${what} (${describeRange(start, end)}). Open it again.`, response.status);
    }
    await readBody(this.location, response, target, what, start, end);
    return target;
  }

  close(): void {
    this.closed = true;
    this.whole = undefined;
  }
}

/** An http(s) URL, absolute or (in a page) relative to the page. */
export function httpUrl(url: string | URL): string {
  let parsed: URL;
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    parsed = new URL(String(url), base);
  } catch (cause) {
    throw new InvalidArgumentError(`${JSON.stringify(String(url))} is not a URL. Pass an http:// or https:// URL (in a page, a path relative to the page works too).`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidArgumentError(`${parsed.href} is not an http(s) URL; safetensors are read from http:// or https:// URLs, Files and Blobs (local files: SafetensorsFile.open(path)).`);
  }
  return parsed.href;
}

/**
 * A small whole file (a checkpoint index, config.json), at most `maxBytes`: the only requests without a Range.
 * Returns its text (UTF-8, strictly).
 */
export async function fetchText(url: string, maxBytes: number, what: string, options: UrlReadOptions = {}): Promise<string> {
  const response = await send(url, 0, undefined, what, options);
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw statusError(url, response, what, undefined);
  }
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new RangeReadError(`${capitalize(what)} at ${url} is ${declared} bytes, above the ${maxBytes}-byte limit; it is refused.`, 200);
  }
  const bytes = await readWhole(url, response, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new RangeReadError(`${capitalize(what)} at ${url} is not UTF-8 text.`, 200, { cause });
  }
}

/** One GET, with `Range: bytes=start-(end-1)` when `end` is given; network failures become errors naming the URL. */
async function send(url: string, start: number, end: number | undefined, what: string, options: UrlReadOptions): Promise<Response> {
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') {
    throw new MemhooksError(ERROR_CODES.PLATFORM_UNSUPPORTED, `Reading ${url} needs fetch, which this JavaScript host does not have (Node ≥ 18 and every browser do). Pass options.fetch.`);
  }
  // identity: a range of compressed bytes would not be the file's bytes (a page's fetch ignores this header and
  // the browser asks for identity itself on range requests).
  const headers: Record<string, string> = { ...options.headers, 'Accept-Encoding': 'identity' };
  if (end !== undefined) headers['Range'] = `bytes=${start}-${end - 1}`;
  let response: Response;
  try {
    response = await doFetch(url, { headers });
  } catch (cause) {
    throw new RangeReadError(
      `Could not fetch ${what} from ${url}${end === undefined ? '' : ` (${describeRange(start, end)})`}: the server is unreachable or refused the request ` +
        `(in a page, also a CORS refusal: the server must allow this origin and the Range request header).`,
      undefined,
      { cause },
    );
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel().catch(() => undefined);
    throw statusError(url, response, what, end === undefined ? undefined : [start, end]);
  }
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding.toLowerCase() !== 'identity') {
    await response.body?.cancel().catch(() => undefined);
    throw new RangeReadError(`${url} sent ${what} with Content-Encoding ${encoding}: a range of encoded bytes is not the file's bytes. Serve the file uncompressed.`, response.status);
  }
  return response;
}

function statusError(url: string, response: Response, what: string, range: [number, number] | undefined): RangeReadError {
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const hint = response.status === 404 ? 'Check the URL.' : response.status === 416 ? 'The file is shorter than the range asked for: it changed, or is empty.' : 'Check the server.';
  return new RangeReadError(`${url} answered ${status} to the request for ${what}${range === undefined ? '' : ` (${describeRange(...range)})`}. ${hint}`, response.status);
}

/**
 * Checks a 206 answer's Content-Range against the range asked (a server may shorten the first request's range
 * to the file's end, never anything else) and the known total, and its Content-Length when present.
 */
function contentRange(url: string, response: Response, start: number, end: number, what: string, knownTotal: number | undefined): { start: number; end: number; total: number } {
  const fail = (why: string) => {
    void response.body?.cancel().catch(() => undefined);
    return new RangeReadError(`${url} answered the request for ${what} (${describeRange(start, end)}) with ${why}. The server or a proxy before it mishandles ranges.`, response.status);
  };
  const header = response.headers.get('content-range');
  if (header === null) throw fail('206 but no Content-Range header (a cross-origin server must list Content-Range in Access-Control-Expose-Headers)');
  const m = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16})$/i.exec(header.trim());
  if (m === null) throw fail(`Content-Range "${header}", which does not state the range and the total length`);
  const [first, last, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (knownTotal !== undefined && total !== knownTotal) throw fail(`Content-Range "${header}": the file is now ${total} bytes, not ${knownTotal} (it changed on the server?)`);
  const expectedEnd = Math.min(end, total);
  if (first !== start || last + 1 !== expectedEnd || expectedEnd <= start) {
    throw fail(`Content-Range "${header}" instead of ${describeRange(start, expectedEnd)}/${total}`);
  }
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) !== expectedEnd - start) throw fail(`Content-Length ${declared} where ${expectedEnd - start} bytes were asked`);
  return { start, end: expectedEnd, total };
}

/** Reads the body into `target`, which it must fill exactly: a short or long body is an error naming both lengths. */
async function readBody(url: string, response: Response, target: Uint8Array, what: string, start: number, end: number): Promise<void> {
  const length = target.byteLength;
  const where = `${what} of ${url} (${describeRange(start, end)})`;
  let done = 0;
  const reader = response.body?.getReader();
  try {
    while (reader !== undefined) {
      const chunk = await reader.read();
      if (chunk.done) break;
      if (done + chunk.value.byteLength > length) {
        await reader.cancel().catch(() => undefined);
        throw new RangeReadError(`The body of ${where} is longer than the ${length} bytes asked for. The server or a proxy before it mishandles ranges.`, response.status);
      }
      target.set(chunk.value, done);
      done += chunk.value.byteLength;
    }
  } catch (cause) {
    if (cause instanceof MemhooksError) throw cause;
    throw new RangeReadError(`The body of ${where} broke off after ${done} of ${length} bytes (truncated). Try again; if it persists, check the server.`, response.status, { cause });
  }
  if (done < length) throw new RangeReadError(`The body of ${where} ended after ${done} of ${length} bytes (truncated).`, response.status);
}

/** The whole body of a 200 answer, at most `maxBytes` (a Content-Length is trusted only as far as the bytes agree). */
async function readWhole(url: string, response: Response, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) <= maxBytes) {
    const whole = new Uint8Array(Number(declared));
    await readBody(url, response, whole, 'the whole file', 0, whole.byteLength);
    return whole;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  try {
    for (let chunk = await reader?.read(); chunk !== undefined && !chunk.done; chunk = await reader!.read()) {
      size += chunk.value.byteLength;
      if (size > maxBytes) {
        await reader!.cancel().catch(() => undefined);
        throw new RangeReadError(`${url} is longer than the ${maxBytes}-byte limit; it is refused.`, response.status);
      }
      chunks.push(chunk.value);
    }
  } catch (cause) {
    if (cause instanceof MemhooksError) throw cause;
    throw new RangeReadError(`The body of ${url} broke off after ${size} bytes (truncated). Try again.`, response.status, { cause });
  }
  const whole = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    whole.set(c, at);
    at += c.byteLength;
  }
  return whole;
}

/** ETag, else Last-Modified: what tells two versions of the file apart (null when the server sends neither). */
function validatorOf(response: Response): string | undefined {
  return response.headers.get('etag') ?? response.headers.get('last-modified') ?? undefined;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
