// Registers the Node platform. The Node entry files (src/index.ts, src/plugin.ts, src/zoo.ts) and the CLI
// import this before anything else, so every module that runs after them finds it.
import { nodePlatform } from './node.js';
import { setPlatform } from './Platform.js';

setPlatform(nodePlatform);
