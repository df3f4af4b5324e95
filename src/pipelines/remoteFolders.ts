/**
 * A pipeline folder on a server (pipeline.savePretrained's layout behind any static file server): model_index.json
 * and each component's config.json are one GET each; the weights are left to Module fromPretrained, which reads
 * them by range requests. Messages name the URL as the folder functions name the path.
 */
import { ERROR_CODES, MemhooksError, type ErrorCode } from '../base/errors.js';
import { isPlainFileName } from '../io/safePaths.js';
import { RangeReadError } from '../io/safetensors/byteRanges.js';
import { fetchText, httpUrl, type UrlReadOptions } from '../io/safetensors/httpRanges.js';
import { CONFIG_NAME, readConfigUrl, resolveModuleClass } from '../loading/config.js';

/** model_index.json is a few hundred bytes; anything far bigger is not one. */
const MAX_MODEL_INDEX_BYTES = 2 ** 20;

/** A pipeline folder URL with its trailing slash, so that model_index.json and the components resolve inside it. */
export function pipelineFolderUrl(dir: string | URL): string {
  const url = new URL(httpUrl(dir));
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/**
 * The folder URL of one component (with its slash, as fromPretrained resolves config.json inside it). A name that
 * is no plain folder name ('..', 'a/b') would reach outside the pipeline's folder: a tampered index is refused.
 */
export function componentUrl(folder: string, name: string): string {
  if (!isPlainFileName(name) || /[%#]/.test(name)) {
    throw new MemhooksError(
      ERROR_CODES.UNSAFE_PATH,
      `${new URL('model_index.json', folder).href} names the component ${JSON.stringify(name)}, which is not a plain folder name inside the pipeline's folder; it is refused (the index may have been tampered with).`,
    );
  }
  return new URL(`${encodeURIComponent(name)}/`, folder).href;
}

/**
 * A failure to reach the server keeps its own code, so that a caller can tell "retry" (RANGE_READ_FAILED) and
 * "pass allowFullDownload" (RANGE_REQUESTS_UNSUPPORTED) from a bad folder; a 404 is the folder's fault: `fallback`.
 */
export function transportCode(cause: unknown, fallback: ErrorCode): ErrorCode {
  if (cause instanceof RangeReadError) return cause.status === 404 ? fallback : cause.code;
  if (cause instanceof MemhooksError && cause.code === ERROR_CODES.RANGE_REQUESTS_UNSUPPORTED) return cause.code;
  return fallback;
}

/** model_index.json's text from a folder URL (one GET, bounded); `parse` checks it as for a folder. */
export async function fetchModelIndex(folder: string, name: string, options: UrlReadOptions): Promise<{ url: string; text: string }> {
  const url = new URL(name, folder).href;
  try {
    return { url, text: await fetchText(url, MAX_MODEL_INDEX_BYTES, `the pipeline's ${name}`, options) };
  } catch (cause) {
    throw new MemhooksError(
      transportCode(cause, ERROR_CODES.INVALID_ARGUMENT),
      `Could not read ${url}: a pipeline folder URL needs the ${name} that pipeline.savePretrained(dir) writes, served next to the component folders. ` +
        `Check that the URL is the pipeline folder's.`,
      { cause },
    );
  }
}

/**
 * Checks, before anything is loaded, that the component's config.json is served and names the class that
 * model_index.json gives it, and that this class is registered: the checks a local folder gets.
 */
export async function checkComponentUrl(folder: string, name: string, className: string, options: UrlReadOptions): Promise<void> {
  const url = componentUrl(folder, name);
  let saved: string;
  try {
    saved = (await readConfigUrl(url, options))._class_name;
  } catch (cause) {
    if (cause instanceof RangeReadError && cause.status === 404) {
      throw new MemhooksError(
        ERROR_CODES.CHECKPOINT_MISMATCH,
        `Pipeline component "${name}" has no ${new URL(CONFIG_NAME, url).href} (404). Serve the whole folder pipeline.savePretrained(dir) wrote, ` +
          `or pass the component yourself: fromPretrained(url, { components: { ${name}: model } }).`,
        { cause },
      );
    }
    throw new MemhooksError(transportCode(cause, ERROR_CODES.UNKNOWN_MODULE_CLASS), `Pipeline component "${name}" cannot be built; nothing was loaded.`, { cause });
  }
  try {
    if (saved !== className) throw new Error(`model_index.json names "${className}" but ${new URL(CONFIG_NAME, url).href} names "${saved}"`);
    resolveModuleClass(className, undefined);
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.UNKNOWN_MODULE_CLASS, `Pipeline component "${name}" cannot be built; nothing was loaded.`, { cause });
  }
}
