// What the browser suite's range server (test/helpers/rangeServerSetup.ts) tells the pages.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** The origin of the range server (http://127.0.0.1:<port>), another origin than the page's: CORS applies. */
    rangeServerUrl: string;
  }
}
