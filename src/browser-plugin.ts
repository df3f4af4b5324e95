// 'memhooks/plugin' under the package's `browser` condition: registers the browser platform (src/base/platform), then
// re-exports ./plugin.ts, the list of names, which is the same on every platform (so one API report holds).
import './base/platform/useBrowser.js';
export * from './plugin.js';
