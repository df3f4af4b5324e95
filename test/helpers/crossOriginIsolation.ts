import type { Plugin } from 'vite';

/**
 * The request header that marks the pages of the browser instance that is cross-origin isolated: its Playwright
 * context sends it with every request (contextOptions.extraHTTPHeaders), and crossOriginIsolation() answers those
 * requests with COOP/COEP. One vite server serves every instance, so the headers are chosen per request.
 */
export const ISOLATED_REQUEST_HEADER = 'x-memhooks-cross-origin-isolated';

/**
 * Serves the isolated instance's pages with `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp` (what a page needs for crossOriginIsolated, hence SharedArrayBuffer),
 * and the others without, so that the transfer path is tested both ways.
 */
export function crossOriginIsolation(): Plugin {
  return {
    name: 'memhooks:cross-origin-isolation',
    // Before vitest's browser plugin (also 'pre'), whose middleware answers the pages without calling the next one.
    enforce: 'pre',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.headers[ISOLATED_REQUEST_HEADER] !== undefined) {
          res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
          res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
          res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        }
        next();
      });
    },
  };
}
