// vitest setup file: registers the Node platform (src/base/platform) before each test file runs, as the
// entry files do for users, so that tests importing a file deep inside src/ find it.
import '../../src/base/platform/useNode.js';
