/** `npm run bundle`: the tools bundled with Dawn's addon run from a directory with no node_modules above it. */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers/data.js';
import { cli } from './helpers/cli.js';
import { gpuOrSkip } from './helpers/gpu.js';

const dir = mkdtempSync(path.join(tmpdir(), 'webptq-bundle-'));
const bundle = path.join(dir, 'webptq');
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 300_000 });

describe('npm run bundle', () => {
  it('builds converter_lite.mjs, benchmark.mjs and bench_gpu.mjs beside node_modules/webgpu', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/bundle.mjs'), '--no-node', `--out=${bundle}`], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['converter_lite.mjs', 'benchmark.mjs', 'bench_gpu.mjs', 'README.txt', `node_modules/webgpu/dist/${process.platform}-${process.arch}/dawn.node`])
      expect(existsSync(path.join(bundle, f)), f).toBe(true);
  }, 300_000);

  it('the bundled converter_lite writes the same PostTraining mnist-8 as the installed one, and its benchmark runs it', () => {
    const args = (out: string) => ['--fmk=ONNX', `--modelFile=${path.join(ROOT, 'examples/mnist-8.onnx')}`, `--outputFile=${out}`, '--quantType=PostTraining',
      `--configFile=${path.join(ROOT, 'calib-data/mnist-8.cfg')}`, '--quiet'];
    // the example config names its calibration directory relative to the project
    const bundled = spawnSync(process.execPath, [path.join(bundle, 'converter_lite.mjs'), ...args(path.join(dir, 'bundled'))], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(bundled.status, bundled.stderr).toBe(0);
    expect(bundled.stdout).toMatch(/CONVERT RESULT SUCCESS:0/);
    const installed = cli('converter_lite', args(path.join(dir, 'installed')));
    expect(installed.code, installed.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'bundled.ms')).equals(readFileSync(path.join(dir, 'installed.ms')))).toBe(true);
    const b = node([path.join(bundle, 'benchmark.mjs'), `--modelFile=${path.join(dir, 'bundled.ms')}`, `--inDataFile=${path.join(ROOT, 'examples/digit7.bin')}`,
      `--benchmarkDataFile=${path.join(ROOT, 'examples/digit7.out')}`, '--accuracyThreshold=10']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/Mean bias of all nodes\/tensors: [\d.]+%/);
  }, 300_000);

  it('Dawn loads from the bundle: a float model runs with --device=GPU', async (t) => {
    await gpuOrSkip(t.skip);
    const conv = node([path.join(bundle, 'converter_lite.mjs'), '--fmk=ONNX', `--modelFile=${path.join(ROOT, 'examples/mnist-8.onnx')}`, `--outputFile=${path.join(dir, 'float')}`]);
    expect(conv.status, conv.stderr).toBe(0);
    const b = node([path.join(bundle, 'benchmark.mjs'), `--modelFile=${path.join(dir, 'float.ms')}`, `--inDataFile=${path.join(ROOT, 'examples/digit7.bin')}`,
      `--benchmarkDataFile=${path.join(ROOT, 'examples/digit7.out')}`, '--device=GPU']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/GPU adapter: /);
    expect(b.stdout).toMatch(/Mean bias of all nodes\/tensors: 0\.\d+%/);
  }, 300_000);
});
