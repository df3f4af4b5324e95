// 'memhooks' under the package's `import` and `require` conditions: registers the Node platform (src/base/platform), then
// re-exports ./index.ts, the list of names, which is the same on every platform (so one API report holds).
import './base/platform/useNode.js';
export * from './index.js';
