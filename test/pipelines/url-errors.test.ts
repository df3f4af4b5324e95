// A pipeline folder URL that cannot be loaded gives one clear error naming the URL, and leaves nothing allocated:
// no model_index.json, a component without config.json, a class mismatch, a tampered index, no range support.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemhooksError } from '../../src/index.js';
import { Pipeline } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { RangeServer } from '../helpers/rangeServer.js';
import { servePipelineDir, unserve } from '../helpers/rangeServerPipeline.js';
import { scratchDirs } from '../helpers/scratch.js';
import { disposeComponents, tinyComponents, TinyPipeline } from './fixtures.js';

class OtherPipeline extends Pipeline {}

async function refusal(load: Promise<unknown>): Promise<MemhooksError> {
  const error = await load.then(
    () => undefined,
    (e: unknown) => e as MemhooksError,
  );
  if (error === undefined) throw new Error('expected a refusal, but the pipeline loaded');
  return error;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe.each(BACKENDS)('Pipeline.fromPretrained(url) refusals on %s', (backend) => {
  let server: RangeServer;
  let url: string;
  const prefix = `/${backend}/pipe`;
  const tmp = scratchDirs('memhooks-pipe-url-err-');
  beforeAll(async () => {
    await useBackend(backend);
    server = await RangeServer.start();
  });
  afterAll(() => server.close());

  async function serveFresh(): Promise<void> {
    const pipe = new TinyPipeline(tinyComponents());
    const dir = tmp();
    await pipe.savePretrained(dir);
    disposeComponents(pipe);
    unserve(server, prefix);
    url = servePipelineDir(server, dir, prefix);
    server.fault = undefined;
    server.requests.length = 0;
  }
  const weightRequests = () => server.requests.filter((r) => r.path.endsWith('.safetensors'));

  it('a folder URL without model_index.json', async () => {
    await serveFresh();
    server.files.delete(`${prefix}/model_index.json`);
    const error = await expectNoLeaks(() => refusal(TinyPipeline.fromPretrained(url)));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(`Could not read ${url}model_index.json: a pipeline folder URL needs the model_index.json that pipeline.savePretrained(dir) writes`);
    expect(error.message).toMatch(/answered 404/);
  });

  it('a component folder without config.json, refused before any weight is requested', async () => {
    await serveFresh();
    server.files.delete(`${prefix}/vae/config.json`);
    const error = await expectNoLeaks(() => refusal(TinyPipeline.fromPretrained(url)));
    expect(error.code).toBe('CHECKPOINT_MISMATCH');
    expect(error.message).toContain(`Pipeline component "vae" has no ${url}vae/config.json (404)`);
    expect(weightRequests()).toEqual([]);
  });

  it('a class mismatch: in the pipeline class, and between model_index.json and a config.json', async () => {
    await serveFresh();
    expect((await refusal(OtherPipeline.fromPretrained(url))).message).toContain(`The pipeline in ${url} was saved by TinyPipeline, not OtherPipeline`);
    const config = JSON.parse(new TextDecoder().decode(server.files.get(`${prefix}/vae/config.json`)));
    server.files.set(`${prefix}/vae/config.json`, json({ ...config, _class_name: 'TinyEncoder' }));
    const error = await expectNoLeaks(() => refusal(TinyPipeline.fromPretrained(url)));
    expect(error.code).toBe('UNKNOWN_MODULE_CLASS');
    expect(error.message).toMatch(/Pipeline component "vae" cannot be built; nothing was loaded\.[\s\S]*model_index\.json names "TinyVae" but .*\/vae\/config\.json names "TinyEncoder"/);
    expect(weightRequests()).toEqual([]);
  });

  it('an index naming a component outside the folder, refused before any request for it', async () => {
    await serveFresh();
    const index = JSON.parse(new TextDecoder().decode(server.files.get(`${prefix}/model_index.json`)));
    server.files.set(`${prefix}/model_index.json`, json({ ...index, '..': ['memhooks', 'TinyVae'] }));
    const error = await expectNoLeaks(() => refusal(Pipeline.fromPretrained(url)));
    expect(error.code).toBe('UNSAFE_PATH');
    expect(error.message).toContain(`names the component ".."`);
    expect(server.requests.map((r) => r.path).filter((p) => !p.startsWith(prefix))).toEqual([]);
  });

  it('a server without range support: the error says so, and the components loaded before are released', async () => {
    await serveFresh();
    // Only the last component's weights: the first two load, then the third fails.
    server.fault = { kind: 'ignoreRange', path: `${prefix}/vae/model.safetensors` };
    const error = await expectNoLeaks(() => refusal(TinyPipeline.fromPretrained(url)));
    expect(error.code).toBe('RANGE_REQUESTS_UNSUPPORTED');
    expect(error.message).toMatch(/Loading pipeline component "vae" from .*\/vae\/ failed; the components loaded before it were released[\s\S]*does not honour Range requests[\s\S]*allowFullDownload: true/);
    // A component's own options take precedence over the pipeline's.
    const loaded = await TinyPipeline.fromPretrained(url, { componentOptions: { vae: { allowFullDownload: true } } });
    expect(loaded.componentNames).toEqual(['textEncoder', 'denoiser', 'vae']);
    disposeComponents(loaded);
  });
});
