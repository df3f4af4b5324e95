import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained } from '../../src/zoo.js';
import { UnsupportedModelError } from '../../src/index.js';
import { readBrowserifyExport } from '../../src/zoo/umdData.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { loadRealModel, MODEL_CACHE_DIR } from '../helpers/realModels.js';
import { trackModels } from './fixtures.js';

/** A one-module browserify bundle as nsfwjs ships it, exporting `literal` (source text). */
function bundle(literal: string, { prelude = '', trailer = '},{}]},{},[1])(1)});' } = {}): string {
  return (
    `${prelude}!function(e){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=e();else{(this).model=e()}}` +
    `(function(){return function e(a,n,i){function l(_,o){if(!n[_]){var r=n[_]={exports:{}};a[_][0].call(r.exports,function(e){return l(a[_][1][e]||e)},r,r.exports,e,a,n,i)}return n[_].exports}` +
    `for(var _=0;_<i.length;_++)l(i[_]);return l}({1:[function(e,a,n){a.exports=${literal}${trailer}`
  );
}

const read = (src: string) => readBrowserifyExport(src, 'test.min.js');

describe('reading nsfwjs UMD data files without running them', () => {
  it('parses the minified literal forms nsfwjs uses, as JavaScript would evaluate them', () => {
    const literal =
      `{modelTopology:{keras_version:"2.2.4",layers:[{name:"a",trainable:!1,use_bias:!0,seed:null,x:true,y:false}],` +
      `"quoted key":'single',$k_1:[.5,-1.25e-3,5.,0,-0,1E3,12]},1:"one",weightsManifest:[],}`;
    const expected = {
      modelTopology: {
        keras_version: '2.2.4',
        layers: [{ name: 'a', trainable: false, use_bias: true, seed: null, x: true, y: false }],
        'quoted key': 'single',
        $k_1: [0.5, -1.25e-3, 5, 0, -0, 1000, 12],
      },
      1: 'one',
      weightsManifest: [],
    };
    expect(read(bundle(literal))).toEqual(expected);
    expect(Object.is((read(bundle('[-0]')) as number[])[0], -0)).toBe(true);
  });

  it('parses strings with escapes exactly, and megabytes of base64 quickly', () => {
    const literal = String.raw`"a\"b\\c\/d\n\t\r\b\f\v\0\x41\u00e9\u{1F600}'"`;
    expect(read(bundle(literal))).toBe('a"b\\c/d\n\t\r\b\f\v\0Aé\u{1F600}\'');
    expect(read(bundle(String.raw`'it\'s'`))).toBe("it's");
    const b64 = Buffer.from(new Uint8Array(3_000_000).map((_, i) => (i * 7919) & 255)).toString('base64');
    const started = Date.now();
    expect(read(bundle(JSON.stringify(b64)))).toBe(b64);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps "__proto__" an own data property, as JSON.parse does, without touching prototypes', () => {
    const value = read(bundle('{__proto__:{polluted:1},"constructor":2}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(value).toEqual(JSON.parse('{"__proto__":{"polluted":1},"constructor":2}'));
  });

  it('never runs the file: code in the prelude has no effect', () => {
    const g = globalThis as Record<string, unknown>;
    expect(read(bundle('{a:1}', { prelude: 'globalThis.__memhooksRan=1;' }))).toEqual({ a: 1 });
    expect(g.__memhooksRan).toBeUndefined();
  });

  it.each([
    ['a call', 'require("fs")'],
    ['an identifier value', '{a:process}'],
    ['a function', 'function(){return 1}'],
    ['an arrow function', '{a:()=>1}'],
    ['a getter', '{get a(){return 1}}'],
    ['a method', '{a(){}}'],
    ['a computed key', '{["a"]:1}'],
    ['a spread', '{...x}'],
    ['a shorthand property', '{a}'],
    ['a template', '{a:`x${1}`}'],
    ['an operator', '{a:1+1}'],
    ['a regular expression', '{a:/x/}'],
    ['a hole', '[1,,2]'],
    ['undefined', '{a:void 0}'],
    ['NaN', '{a:NaN}'],
    ['a hex number', '{a:0x10}'],
    ['a legacy octal', '{a:010}'],
    ['an unknown escape', String.raw`"\q"`],
    ['an unterminated string', '"abc'],
    ['a line break in a string', '"a\nb"'],
    ['a sequence expression', '({a:1},2)'],
  ])('refuses %s with an UnsupportedModelError naming the file', (_label, literal) => {
    expect(() => read(bundle(literal))).toThrow(UnsupportedModelError);
    expect(() => read(bundle(literal))).toThrow(/^test\.min\.js is not a data-only browserify bundle/);
  });

  it('refuses code after the assignment, a module with dependencies, a second module, or no module at all', () => {
    expect(() => read(bundle('{a:1}', { trailer: ';process.exit(1)},{}]},{},[1])(1)});' }))).toThrow(/does more than assign one literal/);
    expect(() => read(bundle('{a:1}', { trailer: '},{"./x":2}]},{},[1])(1)});' }))).toThrow(/does more than assign one literal/);
    expect(() => read(bundle('{a:1}', { trailer: '},{}],2:[function(e,a,n){a.exports=1},{}]},{},[1])(1)});' }))).toThrow(/does more than assign one literal/);
    expect(() => read('module.exports={a:1}')).toThrow(/has no browserify module 1/);
    expect(() => read(bundle('{a:1}').replace('a.exports=', 'n.foo=1,a.exports='))).toThrow(/does not start with `module.exports = <literal>`/);
    expect(() => read(bundle('1'.padStart(600, '[').padEnd(1199, ']')))).toThrow(/nests deeper than 256/);
  });
});

describe.each(BACKENDS)('the nsfwjs MobileNetV2 read as data on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();
  const tmp: string[] = [];
  afterAll(async () => {
    for (const dir of tmp) await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads the same weights as before (266 weights, 10,477,844 bytes, same bits) and predicts the same', async () => {
    const model = track(await loadRealModel('mobilenet-v2-nsfw'));
    const weights = model.getWeights();
    const hash = createHash('sha256');
    let bytes = 0;
    for (const w of weights) {
      const d = w.dataSync() as Float32Array;
      hash.update(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      bytes += d.byteLength;
    }
    expect(weights).toHaveLength(266);
    expect(bytes).toBe(10_477_844);
    // Recorded with the previous loader, which evaluated the UMD files.
    expect(hash.digest('hex')).toBe('2168e3f44acfc5a11f649d7d62ff6297208e8b0de5d8c454e9b3612b27e340cc');
    const x = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 7);
    const y = model.predict(x) as tf.Tensor;
    const expected = [
      0.1283416599035263, 0.010637696832418442, 0.8454515337944031, 0.013139398768544197, 0.0024297088384628296,
      0.10288181155920029, 0.009518052451312542, 0.8719043135643005, 0.013436206616461277, 0.0022595825139433146,
    ];
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    tf.dispose([x, y]);
  });

  it('refuses a tampered model file with an UnsupportedModelError naming it, and runs none of it', async () => {
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'memhooks-umd-'));
    tmp.push(cacheDir);
    await fs.cp(path.resolve(MODEL_CACHE_DIR, 'mobilenet-v2-nsfw'), path.join(cacheDir, 'mobilenet-v2-nsfw'), { recursive: true });
    const modelFile = path.join(cacheDir, 'mobilenet-v2-nsfw/package/dist/models/mobilenet_v2/model.min.js');
    const original = await fs.readFile(modelFile, 'utf8');
    await fs.writeFile(modelFile, original.replace('a.exports={', 'a.exports=(globalThis.__memhooksRan=1,{'));
    await expect(loadPretrained('mobilenet-v2-nsfw', { cacheDir })).rejects.toThrow(UnsupportedModelError);
    await expect(loadPretrained('mobilenet-v2-nsfw', { cacheDir })).rejects.toThrow(modelFile);
    expect((globalThis as Record<string, unknown>).__memhooksRan).toBeUndefined();

    // A shard that is valid data but not base64 is refused too.
    await fs.writeFile(modelFile, original);
    const shard = path.join(path.dirname(modelFile), 'group1-shard1of1.min.js');
    const shardSource = await fs.readFile(shard, 'utf8');
    expect(shardSource).toMatch(/\{1:\[function\((\w),(\w),(\w)\)\{\2\.exports="/);
    await fs.writeFile(shard, shardSource.replace(/\{1:\[function\((\w),(\w),(\w)\)\{\2\.exports="/, '$&not base64!'));
    await expect(loadPretrained('mobilenet-v2-nsfw', { cacheDir })).rejects.toThrow(/group1-shard1of1\.min\.js does not export a base64 string/);
  });
});
