/**
 * The entry point through which `memhooks bench` loads the suite at run time (src/cli/benchSuite.ts). The
 * type annotation is the contract: if the CLI's BenchSuite and this suite drift apart, tsc says so here.
 */
import type { BenchSuite } from '../src/cli/benchSuite.js';
import * as suite from './index.js';

export const BENCH_SUITE: BenchSuite = suite;
