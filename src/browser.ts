// 'memhooks' under the package's `browser` condition: registers the browser platform (src/base/platform), then
// re-exports ./index.ts, the list of names, which is the same on every platform (so one API report holds).
import './base/platform/useBrowser.js';
export * from './index.js';
