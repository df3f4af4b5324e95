/**
 * The few DOM shapes the demo page uses. The repository type-checks every file against Node's types only (no DOM
 * lib, which would change setTimeout and friends for the whole program), so the page names what it touches here.
 */
export interface PageElement {
  textContent: string | null;
  innerHTML: string;
  hidden: boolean;
  className: string;
  width: number;
  height: number;
}

export interface PageInput extends PageElement {
  value: string;
}

interface PageDocument {
  getElementById(id: string): PageElement | null;
}

interface PageGlobals {
  document: PageDocument;
  location: { search: string };
  /** What the page leaves for scripts that drive it (the demo's test): see main.ts. */
  __memhooksDemo?: unknown;
}

export const page = globalThis as unknown as PageGlobals;

/** The element with this id; a missing one is a bug in index.html, said plainly. */
export function byId<T extends PageElement = PageElement>(id: string): T {
  const el = page.document.getElementById(id);
  if (el === null) throw new Error(`examples/browser/index.html has no element #${id}.`);
  return el as T;
}

/** The page's query parameters (the form submits with GET, so every run is a fresh page with its choices in the URL). */
export function query(): URLSearchParams {
  return new URLSearchParams(page.location.search);
}
