// `memhooks inspect <url>` describes a served model or pipeline folder (or a file) from its headers alone, as
// `memhooks inspect <folder>` describes a class it cannot build: same trees and bytes, and no weight downloaded.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/base/format.js';
import { Linear, Module, module, Pipeline, withParameterInit } from '../../src/index.js';
import { useBackend } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';
import { RangeServer } from '../helpers/rangeServer.js';
import { servePipelineDir } from '../helpers/rangeServerPipeline.js';
import { scratchDirs } from '../helpers/scratch.js';

@module()
class InspectUrlNet extends Module {
  embed: Linear;
  head: Linear;
  constructor(readonly width: number) {
    super();
    [this.embed, this.head] = withParameterInit({ seed: 6 }, () => [new Linear(4, width), new Linear(width, 2)]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.head.forward(this.embed.forward(x));
  }
}

// Bytes of InspectUrlNet(3): embed 4×3+3, head 3×2+2 floats.
const TOTAL = (12 + 3 + 6 + 2) * 4;

describe('memhooks inspect <url>', () => {
  let server: RangeServer;
  const tmp = scratchDirs('memhooks-inspect-url-');
  beforeAll(async () => {
    await useBackend('cpu');
    server = await RangeServer.start();
  });
  afterAll(() => server.close());

  it('a pipeline folder URL: one section per component, from the headers, no weight bytes requested', async () => {
    const dir = tmp();
    const [text, unet] = [new InspectUrlNet(3), new InspectUrlNet(3)];
    await new Pipeline({ text, unet }).savePretrained(dir, { maxShardSize: 64 });
    text.dispose();
    unet.dispose();
    const url = servePipelineDir(server, dir, '/pipe');
    const { code, out, err } = await runCli('inspect', url, '--backend', 'cpu', '--depth', '2');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`${url}: ${formatBytes(2 * TOTAL)} of weights in 2 component(s)`);
    expect(out).toContain(`\ntext (InspectUrlNet, ${formatBytes(TOTAL)}, from the checkpoint)\n`);
    expect(out).toContain(`\nunet (InspectUrlNet, ${formatBytes(TOTAL)}, from the checkpoint)\n`);
    expect(out).toMatch(/\n {4}embed: 60 B\n {6}bias: F32 \[3\] 12 B\n {6}weight: F32 \[3, 4\] 48 B\n/);
    expect(out).toContain('inspect does not download weights');
    // Headers only: every ranged request starts at byte 0.
    expect(server.requests.filter((r) => r.range !== undefined && !r.range.startsWith('bytes=0-'))).toEqual([]);
  });

  it('a model folder URL, a file URL, and a URL with nothing there', async () => {
    const dir = tmp();
    const net = new InspectUrlNet(3);
    await net.savePretrained(dir);
    net.dispose();
    const url = server.serveDir(dir, '/net');
    const folder = JSON.parse((await runCli('inspect', url, '--backend', 'cpu', '--json')).out);
    expect(folder.components).toHaveLength(1);
    expect(folder.components[0]).toMatchObject({ className: 'InspectUrlNet', bytes: TOTAL, source: 'checkpoint' });
    const file = JSON.parse((await runCli('inspect', `${url}model.safetensors`, '--backend', 'cpu', '--json')).out);
    expect(file.components[0]).toMatchObject({ name: 'model.safetensors', className: '(no config.json)', bytes: TOTAL });
    expect(file.components[0].weights).toEqual(folder.components[0].weights);
    const missing = await runCli('inspect', server.url('/nothing/'), '--backend', 'cpu');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/No checkpoint at .*\/nothing\/: neither model\.safetensors nor model\.safetensors\.index\.json exists there \(404\)/);
  });
});
