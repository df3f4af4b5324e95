import { closeSync, fstatSync, openSync, readSync } from '../base/platform/fs.js';
import { join } from '../base/platform/path.js';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../base/errors.js';
import { moduleToken } from '../models/decorators.js';
import { Module } from '../models/Module.js';
import { getConstructorArgs, getModuleOptions } from '../models/reflection.js';
import { container, type DependencyContainer } from '../runtime/di.js';
import { writeFileAtomicSync } from '../io/atomicWrite.js';
import { parseStrictJson } from '../io/safetensors/strictJson.js';
import { fetchText, type UrlReadOptions } from '../io/safetensors/httpRanges.js';

export const CONFIG_NAME = 'config.json';
const MAX_CONFIG_BYTES = 16 * 2 ** 20;

/** What config.json holds: the registered class name and the arguments the instance was built with. */
export interface ModelConfig {
  _class_name: string;
  _memhooks_format: 1;
  args: unknown[];
}

type ModuleClass = new (...args: any[]) => Module;

/** The config of a @module instance; its constructor arguments must be plain JSON data. */
export function configOf(module: Module): ModelConfig {
  const args = getConstructorArgs(module);
  const name = getModuleOptions(module).name ?? module.constructor.name;
  if (args === undefined) {
    throw new InvalidArgumentError(
      `${name} is not decorated with @module, so its constructor arguments were not recorded and it could not be rebuilt from config.json. ` +
        `Decorate the class with @module() (import { module } from 'memhooks').`,
    );
  }
  args.forEach((a, i) => assertJson(a, `argument ${i}`, name));
  return { _class_name: name, _memhooks_format: 1, args: [...args] };
}

function assertJson(value: unknown, where: string, cls: string): void {
  const fail = (why: string) => {
    throw new InvalidArgumentError(
      `${cls}'s constructor ${where} ${why}, which config.json cannot hold. Constructor arguments of a saved model must be plain data ` +
        `(numbers, strings, booleans, null, arrays and plain objects); build sub-modules inside the constructor from such options.`,
    );
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`is ${value}`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertJson(v, `${where}[${i}]`, cls));
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) fail(`is a ${(value as object).constructor?.name ?? 'class instance'}`);
    for (const [k, v] of Object.entries(value)) if (v !== undefined) assertJson(v, `${where}.${k}`, cls);
    return;
  }
  fail(`is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`);
}

export function writeConfig(dir: string, config: ModelConfig): void {
  writeFileAtomicSync(join(dir, CONFIG_NAME), JSON.stringify(config, null, 2) + '\n');
}

/** Reads config.json strictly (bounded size, no duplicate keys) and checks its shape. */
export function readConfig(dir: string): ModelConfig {
  const path = join(dir, CONFIG_NAME);
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > MAX_CONFIG_BYTES) throw new Error(`${size} bytes, above the ${MAX_CONFIG_BYTES}-byte limit`);
      const bytes = new Uint8Array(size);
      for (let done = 0; done < size; ) {
        const n = readSync(fd, bytes, done, size - done, done);
        if (n === 0) throw new Error('the file shrank while being read');
        done += n;
      }
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } finally {
      closeSync(fd);
    }
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `Could not read ${path} as a JSON model config. Save the model with savePretrained(dir) first.`, { cause });
  }
  return parseConfig(text, path);
}

/** Reads config.json from a folder URL (one GET, bounded size) and checks it as readConfig does. */
export async function readConfigUrl(folderUrl: string, options: UrlReadOptions): Promise<ModelConfig> {
  const url = new URL(CONFIG_NAME, folderUrl).href;
  return parseConfig(await fetchText(url, MAX_CONFIG_BYTES, 'the model config', options), url);
}

/** config.json's text, strictly (no duplicate keys) and of the right shape; `path` (a file or a URL) names it. */
function parseConfig(text: string, path: string): ModelConfig {
  try {
    parseStrictJson(text);
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `Could not read ${path} as a JSON model config. Save the model with savePretrained(dir) first.`, { cause });
  }
  const config = JSON.parse(text) as Partial<ModelConfig>;
  if (typeof config?._class_name !== 'string' || !Array.isArray(config.args)) {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `${path} has no "_class_name" string and "args" list; it was not written by savePretrained.`);
  }
  return config as ModelConfig;
}

/**
 * The class that config.json names, from the @module registry. When fromPretrained is called on a
 * specific class, the saved class must be it or a subclass.
 */
export function resolveModuleClass(name: string, expected: Function | undefined, target: DependencyContainer = container): ModuleClass {
  const token = moduleToken(name);
  if (!target.isRegistered(token, true)) {
    throw new MemhooksError(
      ERROR_CODES.UNKNOWN_MODULE_CLASS,
      `The model config names the class "${name}", which is not registered. Import the file that defines it (its @module() ` +
        `decorator registers it when the class is evaluated), or decorate the class with @module({ name: '${name}' }).`,
    );
  }
  const cls = target.resolve<ModuleClass>(token);
  if (expected !== undefined && expected !== Module && !(cls === expected || cls.prototype instanceof expected)) {
    throw new MemhooksError(
      ERROR_CODES.UNKNOWN_MODULE_CLASS,
      `The saved model is a ${name}, not a ${expected.name}. Call ${name}.fromPretrained (or Module.fromPretrained to accept any class).`,
    );
  }
  return cls;
}
