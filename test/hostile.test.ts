/**
 * Hostile input: hand-made absurd models, configs and calibration data, each one line and exit 1 within 5 s
 * and 500 MB (the CLI's own peak RSS, reported by a preloaded hook); then a seeded fuzz of byte-mutated shared
 * models and mutated configs, run in-process through converter_lite: exit 0 or 1, never a stack trace, never
 * an output file left by a failure. A failing mutant is saved for reproduction.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync, readdirSync, symlinkSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildOnnx } from './helpers/onnx-builder.js';
import { ROOT, model, readBytes } from './helpers/data.js';
import { converterMain } from '../src/cli/converter.js';
import { toolArgv } from './helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'webptq-hostile-'));
const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
const onnxFile = (name: string, spec: Parameters<typeof buildOnnx>[0]) => {
  const p = path.join(dir, `${name}.onnx`);
  writeFileSync(p, buildOnnx(spec));
  return p;
};
const conv = (dims: number[], attrs: Record<string, number | number[]> = {}, wDims = [4, dims[1], 3, 3]) => ({
  inputs: [{ name: 'x', dims }], outputs: ['y'], inits: [{ name: 'w', dims: wDims, data: rnd(wDims.reduce((a, b) => a * b)) }],
  nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs }],
});

/** converter_lite in a child process with its peak RSS (KB) reported on stderr by a preloaded hook. */
function converter(args: string[]): { code: number; stderr: string; ms: number; rssMB: number } {
  const hook = path.join(dir, 'rss.mjs');
  if (!existsSync(hook)) writeFileSync(hook, "process.on('exit', () => process.stderr.write(`\\n@@maxrss=${process.resourceUsage().maxRSS}\\n`));\n");
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', hook, ...toolArgv('converter_lite'), ...args], { cwd: ROOT, encoding: 'utf8' });
  const ms = performance.now() - t0;
  const rss = Number(/@@maxrss=(\d+)/.exec(r.stderr)?.[1] ?? 0);
  return { code: r.status ?? -1, stderr: r.stderr.replace(/\n?@@maxrss=\d+\n?/, '').trim(), ms, rssMB: rss / 1024 };
}

function expectOneLine(r: { code: number; stderr: string; ms: number; rssMB: number }, pattern: RegExp, out: string) {
  expect(r.stderr).toMatch(pattern);
  expect(r.code).toBe(1);
  expect(r.stderr.split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.ms).toBeLessThan(5000);
  expect(r.rssMB).toBeGreaterThan(0);
  expect(r.rssMB).toBeLessThan(500);
  expect(existsSync(`${out}.ms`)).toBe(false);
}

describe('hostile models: one line, exit 1, < 5 s, < 500 MB', () => {
  const cases: [string, () => string, RegExp][] = [
    ['an input declared [1, 3, 100000, 100000]', () => onnxFile('huge-input', conv([1, 3, 100000, 100000])), /tensor x \[1,100000,100000,3\] would need 120 GB \(the limit is 2 GiB/],
    ['a 1x1 conv on a declared 60000 x 60000 input', () => onnxFile('wide', conv([1, 1, 60000, 60000], {}, [1, 1, 1, 1])), /would need 14 GB/],
    ['MaxPool with kernel_shape [1e9, 1e9]', () => onnxFile('pool', { inputs: [{ name: 'x', dims: [1, 3, 8, 8] }], outputs: ['y'], inits: [],
      nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [1e9, 1e9] } }] }), /MaxPool_0: kernel \[1000000000,1000000000\] is out of range/],
    ['a kernel larger than the padded input', () => onnxFile('big-kernel', conv([1, 3, 8, 8], {}, [4, 3, 9, 9])), /Conv_0: the window \[9,9\] leaves no output/],
    ['a zero stride', () => onnxFile('stride0', conv([1, 3, 8, 8], { strides: [0, 0] })), /Conv_0: stride \[0,0\] is out of range/],
    ['a zero dilation', () => onnxFile('dil0', conv([1, 3, 8, 8], { dilations: [0, 1] })), /Conv_0: dilation \[0,1\] is out of range/],
    ['negative pads', () => onnxFile('negpad', conv([1, 3, 8, 8], { pads: [-5, 0, 0, 0] })), /Conv_0: pads \[-5,0,0,0\] is out of range/],
    ['a group that does not divide the channels', () => onnxFile('group', conv([1, 3, 8, 8], { group: 2 }, [4, 1, 3, 3])), /Conv_0: weight \[4,3,3,1\] does not match input channels 3 \/ group 2/],
    ['a graph with no outputs', () => onnxFile('no-out', { inputs: [{ name: 'x', dims: [1, 3] }], outputs: [], inits: [], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] }), /the graph has no outputs/],
    ['an input dim of 0', () => onnxFile('zero-dim', { inputs: [{ name: 'x', dims: [1, 0, 4] }], outputs: ['y'], inits: [], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] }), /input x has dim 0 at axis 1/],
    ['a Reshape whose element count does not match', () => onnxFile('reshape', { inputs: [{ name: 'x', dims: [1, 3, 8, 8] }], outputs: ['y'],
      inits: [{ name: 's', dims: [2], data: [7, 7], int64: true }], nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }] }), /Reshape_0: cannot reshape/],
    ['a ConstantOfShape of 1e13 elements', () => onnxFile('cos', { inputs: [{ name: 'x', dims: [1] }], outputs: ['y'],
      inits: [{ name: 's', dims: [3], data: [100000, 100000, 1000], int64: true }],
      nodes: [{ op: 'ConstantOfShape', inputs: ['s'], outputs: ['c'] }, { op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }] }), /would need 40000 GB/],
    ['a node reading a tensor nobody produces', () => onnxFile('ghost', { inputs: [{ name: 'x', dims: [2] }], outputs: ['y'], inits: [],
      nodes: [{ op: 'Add', inputs: ['x', 'ghost'], outputs: ['y'] }] }), /Add_0 reads ghost, which no earlier node produces/],
    ['a cycle', () => onnxFile('cycle', { inputs: [{ name: 'x', dims: [2] }], outputs: ['y'], inits: [],
      nodes: [{ op: 'Add', inputs: ['x', 'z'], outputs: ['y'] }, { op: 'Relu', inputs: ['y'], outputs: ['z'] }] }), /reads z, which no earlier node produces/],
  ];
  for (const [name, make, pattern] of cases)
    it(name, () => {
      const out = path.join(dir, 'out');
      expectOneLine(converter(['--fmk=ONNX', `--modelFile=${make()}`, `--outputFile=${out}`]), pattern, out);
    });
});

describe('hostile configs and calibration data: one line, exit 1', () => {
  const mnist = model('onnx/mnist-8.onnx');
  const calib = path.join(ROOT, 'calib-data/mnist-8');
  const config = (name: string, text: string) => {
    const p = path.join(dir, `${name}.cfg`);
    writeFileSync(p, text);
    return p;
  };
  const ini = (data: string, full = '') => `[common_quant_param]\nquant_type=FULL_QUANT\n[data_preprocess_param]\n${data}\n[full_quant_param]\n${full}\n`;
  let folders: Record<string, string> = {};
  beforeAll(() => {
    const mk = (name: string) => { const p = path.join(dir, name); mkdirSync(p, { recursive: true }); return p; };
    folders = { empty: mk('empty'), loop: mk('loop'), short: mk('short'), images: mk('images'), huge: mk('huge') };
    symlinkSync(path.join(folders.loop, 'a'), path.join(folders.loop, 'a'));
    for (let i = 0; i < 3; i++) writeFileSync(path.join(folders.short, `${i}.bin`), new Float32Array(10));
    for (let i = 0; i < 3; i++) writeFileSync(path.join(folders.images, `${i}.jpg`), 'not an image at all');
    // a real PNG header claiming 50,000 x 50,000 pixels: refused from the header, before any decoding
    const png = new Uint8Array(readFileSync(path.join(ROOT, '..', 'shared/data/imagenet/fish.png')));
    const v = new DataView(png.buffer, png.byteOffset);
    v.setUint32(16, 50000);
    v.setUint32(20, 50000);
    for (let i = 0; i < 2; i++) writeFileSync(path.join(folders.huge, `${i}.png`), png);
    copyFileSync(path.join(calib, readdirSync(calib).sort()[0]), path.join(folders.empty, '..', 'one.bin'));
  });
  const cases: [string, () => string, RegExp][] = [
    ['a calibration directory that does not exist', () => config('missing', ini(`calibrate_path=Input3:${dir}/nope\ncalibrate_size=2`)), /calibration directory .*nope does not exist/],
    ['an empty calibration directory', () => config('empty', ini(`calibrate_path=Input3:${folders.empty}\ncalibrate_size=2`)), /has 0 files, fewer than the 2 samples/],
    ['a symlink loop in the calibration directory', () => config('loop', ini(`calibrate_path=Input3:${folders.loop}\ncalibrate_size=1`)), /calibration file .*loop\/a cannot be read \(ELOOP\)/],
    ['a .bin of the wrong size', () => config('short', ini(`calibrate_path=Input3:${folders.short}\ncalibrate_size=2`)), /Input binary file size error, required: 3136, in fact: 40/],
    ['non-image files in an IMAGE set', () => config('notimg', ini(`calibrate_path=Input3:${folders.images}\ncalibrate_size=2\ninput_type=IMAGE\nimage_to_format=GRAY\nresize_width=28\nresize_height=28`)), /0\.jpg: not a BMP, JPEG or PNG image/],
    ['an image whose header says 50,000 x 50,000 pixels', () => config('hugeimg', ini(`calibrate_path=Input3:${folders.huge}\ncalibrate_size=2\ninput_type=IMAGE\nimage_to_format=GRAY\nresize_width=28\nresize_height=28`)), /image of 50000x50000 pixels refused/],
    ['a calibrate_size of a billion', () => config('count', ini(`calibrate_path=Input3:${calib}\ncalibrate_size=1000000000`)), /calibrate_size should be \[1,65535\]/],
    ['an unknown calibration method', () => config('method', ini(`calibrate_path=Input3:${calib}\ncalibrate_size=2`, 'activation_quant_method=MEDIAN')), /activation_quant_method must be MAX_MIN\|KL\|REMOVAL_OUTLIER\|MSE\|KL_ASYMMETRIC, got "MEDIAN"/],
    ['a bias_correction that is not a boolean', () => config('bias', ini(`calibrate_path=Input3:${calib}\ncalibrate_size=2`, 'bias_correction=maybe')), /bias_correction must be true or false, got "maybe"/],
    ['a normalize_std of zero', () => config('std0', ini(`calibrate_path=Input3:${calib}\ncalibrate_size=2\ninput_type=IMAGE\nimage_to_format=GRAY\nnormalize_std=[0]`)), /normalize_std must not be 0/],
    ['a line that is not key=value', () => config('garbage', '[common_quant_param]\nthis is not a setting\n'), /garbage\.cfg:2: expected key=value/],
    ['a 2 MB config file', () => config('big', `# ${'x'.repeat(2 << 20)}\n`), /is 2 MB: not a config file \(at most 1 MB\)/],
  ];
  for (const [name, make, pattern] of cases)
    it(name, () => {
      const out = path.join(dir, 'q');
      expectOneLine(converter(['--fmk=ONNX', `--modelFile=${mnist}`, `--outputFile=${out}`, '--quantType=PostTraining', `--configFile=${make()}`, '--device=cpu', '--quiet']), pattern, out);
    });
});

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One mutation of a file: flipped bytes, a field overwritten with a large number, a truncation, a copied chunk. */
function mutate(bytes: Uint8Array, r: () => number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = () => Math.floor(r() * out.length);
  switch (Math.floor(r() * 4)) {
    case 0: for (let i = 0, n = 1 + Math.floor(r() * 8); i < n; i++) out[at()] = Math.floor(r() * 256); return out;
    case 1: { const p = at() & ~3; new DataView(out.buffer).setUint32(Math.min(p, out.length - 4), Math.floor(r() * 2 ** 32), true); return out; }
    case 2: return out.subarray(0, at());
    default: { const p = at(), q = at(), n = Math.min(64, out.length - Math.max(p, q)); out.copyWithin(p, q, q + n); return out; }
  }
}

/** converter_lite in this process with stderr captured: the exit code and what it printed. */
async function convertInProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => { stderr += String(s); return true; }) as typeof process.stderr.write;
  try {
    return { code: await converterMain(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('fuzz', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261127);
  const sources: [string, string][] = [
    ['onnx/mnist-8.onnx', 'ONNX'], ['onnx/ultraface-rfb-320.onnx', 'ONNX'], ['tflite/resnet8-cifar10-float.tflite', 'TFLITE'],
    ['tflite/vww-mobilenetv1-0.25-96-int8-reference.tflite', 'TFLITE'], ['mindir/relu.mindir', 'MINDIR'], ['ms/lenet_tod_infer.ms', 'MSLITE'],
  ];
  it(`200 byte-mutated shared models (seed ${seed}): exit 0 or 1, one line on failure, no stack trace, no output left`, async () => {
    const r = prng(seed);
    const originals = sources.map(([f]) => readBytes(model(f)));
    let ok = 0, refused = 0;
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      const k = i % sources.length;
      const bytes = mutate(originals[k], r);
      const file = path.join(dir, `mutant-${i}`);
      writeFileSync(file, bytes);
      const out = path.join(dir, `mutant-out-${i}`);
      let res: { code: number; stderr: string };
      try {
        res = await convertInProcess([`--fmk=${sources[k][1]}`, `--modelFile=${file}`, `--outputFile=${out}`]);
      } catch (e) {
        const saved = path.join(tmpdir(), `webptq-fuzz-seed${seed}-${i}-${path.basename(sources[k][0])}`);
        writeFileSync(saved, bytes);
        throw new Error(`mutant ${i} of ${sources[k][0]} (saved as ${saved}) threw: ${(e as Error).stack}`);
      }
      expect([0, 1], `mutant ${i} of ${sources[k][0]}`).toContain(res.code);
      if (res.code === 1) {
        refused++;
        expect(res.stderr.trim().split('\n'), `mutant ${i}: ${res.stderr}`).toHaveLength(1);
        expect(existsSync(`${out}.ms`)).toBe(false);
      } else ok++;
    }
    console.log(`fuzz seed ${seed}: 200 mutants of ${sources.length} models, ${ok} converted, ${refused} refused with one line, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 300_000);

  it(`100 mutated configs (seed ${seed + 1}): one line or a valid run`, async () => {
    const r = prng(seed + 1);
    const calib = path.join(ROOT, 'calib-data/mnist-8');
    const base = ['[common_quant_param]', 'quant_type=FULL_QUANT', 'bit_num=8', '[data_preprocess_param]', `calibrate_path=Input3:${calib}`, 'calibrate_size=2',
      'input_type=BIN', '[full_quant_param]', 'activation_quant_method=MAX_MIN', 'bias_correction=false'];
    const junk = ['', '=', 'x', '-1', '99999999999', 'NaN', '[1,2,3]', 'IMAGE', 'KL', 'true', '\u0000', '../../etc', 'Input3:', ':'];
    let ok = 0, refused = 0;
    for (let i = 0; i < 100; i++) {
      const lines = [...base];
      for (let m = 0, n = 1 + Math.floor(r() * 3); m < n; m++) {
        const j = Math.floor(r() * lines.length), v = junk[Math.floor(r() * junk.length)];
        const kind = Math.floor(r() * 3);
        if (kind === 0 && lines[j].includes('=')) lines[j] = `${lines[j].split('=')[0]}=${v}`;
        else if (kind === 1) lines.splice(j, 1);
        else lines.splice(j, 0, v);
      }
      const cfg = path.join(dir, `cfg-${i}.cfg`), out = path.join(dir, `cfg-out-${i}`);
      writeFileSync(cfg, lines.join('\n'));
      let res: { code: number; stderr: string };
      try {
        res = await convertInProcess(['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${out}`, '--quantType=PostTraining', `--configFile=${cfg}`, '--device=cpu', '--quiet']);
      } catch (e) {
        throw new Error(`config mutant ${i} (${cfg}) threw: ${(e as Error).stack}`);
      }
      expect([0, 1], `config ${i}`).toContain(res.code);
      const errors = res.stderr.trim().split('\n').filter((l) => l && !l.startsWith('WARNING'));
      if (res.code === 1) {
        refused++;
        expect(errors, `config ${i}: ${res.stderr}`).toHaveLength(1);
        expect(existsSync(`${out}.ms`)).toBe(false);
      } else ok++;
    }
    console.log(`config fuzz seed ${seed + 1}: 100 configs, ${ok} ran, ${refused} refused with one line`);
  }, 300_000);
});
