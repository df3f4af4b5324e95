// Types of serve.mjs, for the TypeScript that imports it (test/examples/browserDemo.test.ts).
export declare const UPSCALER: string;
export declare const MODEL_CACHE_DIR: string;
export declare const DEMO_PATH: string;
export declare function fetchUpscaler(): Promise<string>;
export declare function startDemoServer(options?: { port?: number; strictPort?: boolean }): Promise<{ url: string; close(): Promise<void> }>;
