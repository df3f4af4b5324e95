// Types of chromium.mjs, for the TypeScript that imports it (bench/browserStrategies.ts, the demo page's test).
import type { Browser } from 'playwright';
import type { InlineConfig, ViteDevServer } from 'vite';

export declare const CHROMIUM_PATH: string;
export declare const CHROMIUM_ARGS: readonly string[];
export declare function launchChromium(): Promise<Browser>;
export declare function serveWithVite(config: InlineConfig & { port?: number }): Promise<{ server: ViteDevServer; base: string }>;
