import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What a bundled web app gets (issue #25): a small app that imports 'memhooks', 'memhooks/plugin' and
 * 'memhooks/zoo' from the built package, bundled by Vite for the browser (library mode, Vite's browser
 * conditions). memhooks' own modules in that bundle must import no Node built-in and read no `process.`:
 * tfjs-core, which memhooks bundles along, mentions `process` behind its own guards, so the check looks at
 * memhooks' modules one by one, as Vite loads them, not at the bundle's text. The bundle then runs in a bare
 * JavaScript context (no process, require or Buffer) and refuses a file call with a clear error.
 * Needs dist/ (`npm test` builds it first).
 */
const root = join(import.meta.dirname, '..', '..');
const dist = join(realpathSync(root), 'dist') + '/';
const built = existsSync(join(root, 'dist', 'esm', 'src', 'index.js'));
const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-bundle-'));
const app = join(scratch, 'app');

const APP_SOURCE = `
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Module, Parameter, HookRegistry, ModelHook, memory, parseSize, applyGroupOffloading, SafetensorsFile, MemhooksError, Linear, Sequential, useBackend } from 'memhooks';
import { Strategy, registerStrategy, assertDeviceBudget } from 'memhooks/plugin';
import { PRETRAINED_NAMES, fetchPretrained } from 'memhooks/zoo';

const outcome = (error) => ({ isMemhooksError: error instanceof MemhooksError, code: error.code, message: error.message });

/** Calls a few functions of each entry; what a file call does in a page is reported, not thrown. */
export async function check() {
  await useBackend('cpu');
  let fileCall = 'opened';
  try {
    SafetensorsFile.open('/models/unet.safetensors');
  } catch (error) {
    fileCall = outcome(error);
  }
  const model = new Sequential([new Linear(4, 8), new Linear(8, 2)]);
  let diskOffload = 'applied';
  try {
    applyGroupOffloading(model, { offloadType: 'leaf_level', offloadToDiskPath: '/offload' });
  } catch (error) {
    diskOffload = outcome(error);
  }
  // The host tier needs no files: it works in a page, with the same outputs.
  const x = tf.ones([2, 4]);
  const before = Array.from(model.forward(x).dataSync());
  const handle = applyGroupOffloading(model, { offloadType: 'leaf_level' });
  const offloaded = Array.from(model.forward(x).dataSync());
  handle.remove();
  const hostOffload = { same: before.join() === offloaded.join(), values: before.length };
  return {
    diskOffload,
    hostOffload,
    size: parseSize('1.5 KiB'),
    stats: typeof memory.stats,
    classes: [Module, Parameter, HookRegistry, ModelHook, Strategy].map((c) => typeof c),
    functions: [applyGroupOffloading, registerStrategy, assertDeviceBudget, fetchPretrained].map((f) => typeof f),
    pretrained: PRETRAINED_NAMES.length,
    fileCall,
  };
}
`;

/** One import statement or call that memhooks' modules made, as Vite resolved it. */
interface Import {
  source: string;
  importer: string;
}

const imports: Import[] = [];
const moduleCode = new Map<string, string>();
let buildError: unknown;
let bundle = '';

const isOurs = (id: string | undefined): id is string => id !== undefined && id.startsWith(dist);
const short = (id: string) => id.slice(dist.length);

function isNodeBuiltin(source: string): boolean {
  return source.startsWith('node:') || builtinModules.includes(source) || builtinModules.includes(source.split('/')[0]!);
}

/** The `process.x` member reads in a module's code (comments and strings do not count). */
function processReads(code: string, file: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'process') found.push(`${file}: ${node.getText()}`);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS));
  return found;
}

beforeAll(async () => {
  if (!built) return;
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bundled-app', private: true, type: 'module' }));
  writeFileSync(join(app, 'main.js'), APP_SOURCE);
  // The built package as an installed dependency (its package.json exports map decides what resolves), and
  // tfjs beside it.
  symlinkSync(root, join(app, 'node_modules', 'memhooks'), 'dir');
  symlinkSync(join(root, 'node_modules', '@tensorflow'), join(app, 'node_modules', '@tensorflow'), 'dir');
  const { build } = await import('vite');
  try {
    const result = await build({
      configFile: false,
      root: app,
      logLevel: 'silent',
      plugins: [
        {
          name: 'record-memhooks-modules',
          enforce: 'pre',
          resolveId(source: string, importer: string | undefined) {
            if (isOurs(importer)) imports.push({ source, importer: short(importer) });
            return null;
          },
          transform(code: string, id: string) {
            if (isOurs(id)) moduleCode.set(short(id), code);
            return null;
          },
        },
      ],
      build: {
        lib: { entry: join(app, 'main.js'), formats: ['iife'], name: 'app', fileName: 'app' },
        outDir: join(app, 'out'),
        write: false,
        minify: false,
      },
    });
    const outputs = (Array.isArray(result) ? result : [result]) as Array<{ output?: Array<{ type: string; code?: string }> }>;
    bundle = outputs.flatMap((r) => r.output ?? []).find((o) => o.type === 'chunk')?.code ?? '';
  } catch (error) {
    buildError = error;
  }
}, 300_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('memhooks bundled by Vite for the browser', () => {
  it('has a built package (npm test builds it; otherwise run npm run build)', () => {
    expect(built).toBe(true);
  });

  it("resolves each entry to its browser file through the package's `browser` condition", () => {
    const entries = [...moduleCode.keys()].filter((id) => /^esm\/src\/[^/]+\.js$/.test(id)).sort();
    expect(entries).toEqual(expect.arrayContaining(['esm/src/browser-plugin.js', 'esm/src/browser-zoo.js', 'esm/src/browser.js']));
    expect(entries.filter((id) => /\/node[^/]*\.js$/.test(id))).toEqual([]);
    expect([...moduleCode.keys()]).not.toContain('esm/src/base/platform/node.js');
  });

  it('imports no Node built-in from any memhooks module', () => {
    expect(moduleCode.size).toBeGreaterThan(50);
    const node = imports.filter((i) => isNodeBuiltin(i.source)).map((i) => `${i.importer} imports ${i.source}`);
    expect(node).toEqual([]);
  });

  it('reads no `process.` in any memhooks module', () => {
    const reads = [...moduleCode].flatMap(([file, code]) => processReads(code, file));
    expect(reads).toEqual([]);
  });

  it('builds, and runs in a bare context: the API and the host tier work, file calls are refused with PLATFORM_UNSUPPORTED', async () => {
    expect(buildError).toBeUndefined();
    expect(bundle.length).toBeGreaterThan(0);
    // A page's globals that tfjs and memhooks read, and none of Node's.
    const page: Record<string, unknown> = { console, crypto: globalThis.crypto, performance, TextEncoder, TextDecoder, URL, Blob, atob, btoa, setTimeout, clearTimeout, queueMicrotask };
    page.self = page;
    page.window = page;
    // tfjs-core takes a context with a window and a document for a browser (its browser platform).
    page.document = {};
    page.navigator = { userAgent: 'memhooks-bundle-test' };
    runInNewContext(`${bundle}\nglobalThis.result = app.check();`, page);
    const result = (await page.result) as Record<string, unknown>;
    expect(result).toMatchObject({ size: 1536, stats: 'function', classes: ['function', 'function', 'function', 'function', 'function'] });
    expect(result.functions).toEqual(['function', 'function', 'function', 'function']);
    expect(result.pretrained).toBeGreaterThan(0);
    expect(result.fileCall).toMatchObject({ isMemhooksError: true, code: 'PLATFORM_UNSUPPORTED' });
    const message = (result.fileCall as { message: string }).message;
    expect(message).toContain('/models/unet.safetensors');
    expect(message).toMatch(/no file system/i);
    expect(message).toMatch(/host tier/);
    // A strategy that needs files refuses before changing the model, leading with the reason.
    expect(result.diskOffload).toMatchObject({ isMemhooksError: true, code: 'STRATEGY_APPLY_FAILED' });
    expect((result.diskOffload as { message: string }).message.split('\n')[0]).toMatch(/no file system in a page.*host tier/);
    expect(result.hostOffload).toEqual({ same: true, values: 4 });
  });
});
