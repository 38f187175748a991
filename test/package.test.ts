/**
 * WebPTQ as a package (#31): `npm pack`, the tarball unpacked into a fresh project outside the repo (its
 * dependencies linked from this checkout's node_modules: the registry is not needed), then used as a user would:
 * imported from Node for a WeightQuant and a PostTraining conversion, type-checked from TypeScript, and its
 * browser entry bundled by esbuild and run in headless Chromium (the bytes Node writes); and without the
 * optional webgpu package.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { ROOT, model, mnistDigits } from './helpers/data.js';
import { launchChromium, serve, CHROMIUM } from './helpers/browser.js';
import { convert, quantizeWeights, toMs } from '../src/api.js';

const project = mkdtempSync(path.join(tmpdir(), 'webptq-user-'));
const sh = (cmd: string, args: string[], cwd = project) => spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000 });

beforeAll(() => {
  const pack = sh('npm', ['pack', '--ignore-scripts', '--json', `--pack-destination=${project}`], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  const tarball = path.join(project, JSON.parse(pack.stdout)[0].filename);
  const modules = path.join(project, 'node_modules');
  mkdirSync(path.join(modules, 'webptq'), { recursive: true });
  expect(sh('tar', ['-xzf', tarball, '-C', path.join(modules, 'webptq'), '--strip-components=1']).status).toBe(0);
  for (const dep of readdirSync(path.join(ROOT, 'node_modules'))) if (dep !== '.bin' && dep !== 'webptq') symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(modules, dep));
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-app', type: 'module', private: true }));
  const calib = path.join(project, 'digits');
  mkdirSync(calib);
  mnistDigits(8, 500).forEach((d, i) => writeFileSync(path.join(calib, `${i}.bin`), d.pixels));
}, 300_000);

describe('the packed package in a fresh project', () => {
  it('ships the entry points, their .d.ts and no tests', () => {
    const pkg = path.join(project, 'node_modules/webptq');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/browser.js', 'dist/browser.d.ts', 'bin/converter_lite.js', 'README.md']) expect(existsSync(path.join(pkg, f)), f).toBe(true);
    expect(existsSync(path.join(pkg, 'test'))).toBe(false);
  });

  it('Node: WeightQuant and PostTraining of mnist-8 through the API', () => {
    writeFileSync(path.join(project, 'app.mjs'), `
import { readFileSync, readdirSync } from 'node:fs';
import { convert, quantizeWeights, quantizeFull, toMs, readMs, run } from 'webptq';
const bytes = readFileSync(${JSON.stringify(model('onnx/mnist-8.onnx'))});
const floats = (b) => new Float32Array(b.buffer, b.byteOffset, b.length / 4).slice();
const digits = readdirSync('digits').sort().map((f) => [floats(readFileSync('digits/' + f))]);
const argmax = (a) => a.indexOf(Math.max(...a));
const wq = convert(bytes, { fmk: 'ONNX', file: 'mnist-8.onnx' });
const rows = quantizeWeights(wq, { bitNum: 8, quantWeightChannel: 0 });
const wqMs = toMs(wq);
const pt = convert(bytes, { fmk: 'ONNX' });
const r = await quantizeFull(pt, digits, { activationQuantMethod: 'MAX_MIN', device: 'cpu' });
const ptMs = readMs(toMs(pt));
const preds = digits.map(([x]) => argmax(Array.from(run(ptMs, [{ shape: [1, 28, 28, 1], data: x }])[0].data)));
console.log(JSON.stringify({ quantizedWeights: rows.filter((w) => w.quantized).length, wqBytes: wqMs.length, int8Nodes: r.quantizedNodes.length, preds }));
`);
    const r = sh(process.execPath, ['app.mjs']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.quantizedWeights).toBeGreaterThanOrEqual(3);
    expect(out.wqBytes).toBeGreaterThan(1000);
    expect(out.int8Nodes).toBeGreaterThanOrEqual(3);
    // Digit i of mnistDigits(8, 500) is class (500 + i) % 10.
    const right = out.preds.filter((p: number, i: number) => p === (500 + i) % 10).length;
    expect(right).toBeGreaterThanOrEqual(7);
  }, 120_000);

  it('TypeScript: the API type-checks, and a wrong option is a type error', () => {
    writeFileSync(path.join(project, 'app.ts'), `
import { convert, quantizeFull, toMs, type Graph, type FullQuantizeOptions } from 'webptq';
export async function int8(bytes: Uint8Array, samples: Float32Array[][]): Promise<Uint8Array> {
  const g: Graph = convert(bytes, { fmk: 'ONNX', inputShape: { x: [1, 3, 224, 224] } });
  const o: FullQuantizeOptions = { activationQuantMethod: 'KL', biasCorrection: true, onProgress: (done, total) => console.log(done, total) };
  await quantizeFull(g, samples, o);
  // @ts-expect-error: not a framework converter_lite takes
  convert(bytes, { fmk: 'KERAS' });
  return toMs(g);
}
`);
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['app.ts'] }));
    const r = sh(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  it('without the optional webgpu package (npm install --omit=optional): PostTraining calibrates on the CPU and says why in one line', () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'webptq-bare-'));
    const modules = path.join(bare, 'node_modules');
    mkdirSync(modules);
    // webptq itself copied (a link would resolve its imports from the first project, webgpu included)
    expect(sh('cp', ['-r', path.join(project, 'node_modules/webptq'), modules]).status).toBe(0);
    for (const dep of readdirSync(path.join(project, 'node_modules'))) if (dep !== 'webgpu' && dep !== 'webptq') symlinkSync(path.join(project, 'node_modules', dep), path.join(modules, dep));
    writeFileSync(path.join(bare, 'cfg'), `[common_quant_param]\nquant_type=FULL_QUANT\n[data_preprocess_param]\ncalibrate_path=Input3:${path.join(project, 'digits')}\ncalibrate_size=4\ninput_type=BIN\n`);
    const r = sh(process.execPath, ['node_modules/webptq/bin/converter_lite.js', '--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, '--outputFile=m', '--configFile=cfg'], bare);
    expect(r.status, r.stderr).toBe(0);
    // the first reason that applies: a machine without a GPU says that before the missing package
    expect(r.stderr).toMatch(/^no WebGPU adapter found \((the optional package webgpu is not installed|no GPU device node [^)]*\))\): calibrating with the CPU executor$/m);
    expect(r.stderr).not.toMatch(/Error|Warning|at .*\(/);
    expect(existsSync(path.join(bare, 'm.ms'))).toBe(true);
    // asked for the GPU (any adapter): the missing package is the reason, in one line, and nothing is written
    const gpu = sh(process.execPath, ['node_modules/webptq/bin/converter_lite.js', '--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, '--outputFile=g', '--configFile=cfg', '--device=gpu'], bare);
    expect(gpu.status).toBe(1);
    expect(gpu.stderr.trim()).toMatch(/^--device=gpu: no WebGPU adapter found \(the optional package webgpu is not installed\): install a GPU driver, or chromium for SwiftShader$/);
    expect(existsSync(path.join(bare, 'g.ms'))).toBe(false);
  }, 120_000);

  it('browser: esbuild bundles the browser entry with no Node module in it, and the bundle in headless Chromium writes the bytes Node writes', async (t) => {
    writeFileSync(path.join(project, 'page.js'), "import { convert, quantizeWeights, toMs } from 'webptq';\nwindow.quantize = (bytes) => { const g = convert(bytes, { fmk: 'ONNX' }); quantizeWeights(g, { bitNum: 8, quantWeightChannel: 0 }); return toMs(g); };\n");
    const r = await esbuild.build({ entryPoints: [path.join(project, 'page.js')], bundle: true, platform: 'browser', format: 'esm', write: false, absWorkingDir: project, logLevel: 'silent' });
    const text = r.outputFiles[0].text;
    expect(text.length).toBeGreaterThan(100_000);
    expect(text).not.toMatch(/from\s*["']node:(fs|path|os|child_process)["']/);
    expect(readFileSync(path.join(project, 'node_modules/webptq/package.json'), 'utf8')).toMatch(/"browser"/);
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error('CI must run the browser bundle: /usr/bin/chromium is missing');
      return t.skip();
    }
    const onnx = readFileSync(model('onnx/mnist-8.onnx'));
    const server = await serve({ '/': ['text/html', '<!doctype html><script type="module" src="/page.js"></script>'], '/page.js': ['text/javascript', text], '/mnist-8.onnx': ['application/octet-stream', onnx] });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => typeof (window as unknown as { quantize?: unknown }).quantize === 'function');
      const inPage = await page.evaluate(async () => {
        const bytes = new Uint8Array(await (await fetch('/mnist-8.onnx')).arrayBuffer());
        return Array.from((window as unknown as { quantize: (b: Uint8Array) => Uint8Array }).quantize(bytes));
      });
      const g = convert(onnx, { fmk: 'ONNX' });
      quantizeWeights(g, { bitNum: 8, quantWeightChannel: 0 });
      const inNode = toMs(g);
      expect(inPage.length).toBe(inNode.length);
      expect(Buffer.from(inPage).equals(Buffer.from(inNode))).toBe(true);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 120_000);
});
