/**
 * `memhooks shard <in> <out> --max-shard-size 2GB`: re-shards a safetensors checkpoint (one file, or a
 * sharded folder with its index) into `out`, one tensor in memory at a time.
 */
import type { Command } from 'commander';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { saveShardedCheckpoint } from '../../io/checkpoints/save.js';
import { openCheckpoint } from '../../io/checkpoints/openCheckpoint.js';
import type { LazyEntry } from '../../io/safetensors/write.js';
import { SafetensorsFile } from '../../io/safetensors/SafetensorsFile.js';
import { isWritableDtype } from '../../io/safetensors/dtypes.js';
import { formatBytes } from '../../base/format.js';
import { parseSize } from '../../runtime/size.js';
import { EXIT, UsageError, type CommandContext } from '../io.js';

interface ShardOptions {
  maxShardSize: string;
  weightsName?: string;
}

export function registerShardCommand(program: Command, ctx: CommandContext): void {
  program
    .command('shard')
    .description('Re-shard a safetensors checkpoint by size: <name>-0000i-of-0000N.safetensors plus an index, as Hugging Face does.')
    .argument('<in>', 'a .safetensors file, or a folder holding model.safetensors or model.safetensors.index.json')
    .argument('<out>', 'the folder to write (created if missing; must differ from the input folder)')
    .option('--max-shard-size <size>', 'largest shard, e.g. 2GB or 500MiB', '10GB')
    .option('--weights-name <name>', 'file name of the output (default model.safetensors)')
    .addHelpText('after', '\nExample:\n  memhooks shard ./model ./model-sharded --max-shard-size 200MB\n')
    .action((input: string, out: string, opts: ShardOptions) => {
      ctx.setExitCode(runShard(input, out, opts, ctx));
    });
}

function runShard(input: string, out: string, opts: ShardOptions, ctx: CommandContext): number {
  try {
    parseSize(opts.maxShardSize, '--max-shard-size');
  } catch (cause) {
    throw new UsageError((cause as Error).message);
  }
  if (!existsSync(input)) throw new UsageError(`${input} does not exist. Give a .safetensors file or a checkpoint folder.`);
  const isFile = statSync(input).isFile();
  const inputDir = resolve(isFile ? dirname(input) : input);
  if (resolve(out) === inputDir) throw new UsageError(`The output folder ${out} is the input's folder; write the new shards to another folder.`);
  const checkpoint = isFile ? undefined : openCheckpoint(input);
  const paths = isFile ? [resolve(input)] : checkpoint!.files;
  const files = paths.map((p) => SafetensorsFile.open(p));
  try {
    // Each tensor is read from its source file only when the writer reaches it.
    const entries = new Map<string, LazyEntry>();
    for (const file of files) {
      for (const name of file.keys()) {
        const info = file.info(name);
        if (!isWritableDtype(info.dtype)) {
          throw new UsageError(`Tensor "${name}" of ${file.path} has dtype ${info.dtype}, which memhooks does not write; nothing was written.`);
        }
        entries.set(name, { dtype: info.dtype, shape: info.shape, read: () => file.readBytes(name) });
      }
    }
    mkdirSync(out, { recursive: true });
    const saved = saveShardedCheckpoint(entries, out, { maxShardSize: opts.maxShardSize, weightsName: opts.weightsName });
    ctx.io.out(
      `memhooks shard: ${entries.size} tensors, ${formatBytes(saved.totalSize)} from ${isFile ? basename(input) : input} → ` +
        `${saved.files.length} file(s) in ${out}${saved.index === undefined ? '' : ` with ${basename(saved.index)}`}\n`,
    );
    for (const f of saved.files) ctx.io.out(`  ${f}\n`);
    return EXIT.OK;
  } finally {
    for (const f of files) f.close();
  }
}
