#!/usr/bin/env node
/**
 * npm run bundle [-- --no-node --tar --out=DIR]: a self-contained directory for machines without npm access (a GPU
 * server): the command-line tools and `bench:gpu` each bundled into one file with esbuild, Dawn's native addon
 * for this platform beside them (where the `webgpu` package loads it from), this Node binary as `node` (unless
 * --no-node: then any Node 20 runs them), and a README. With --tar, also a .tar.xz of it (xz keeps a bundle
 * with its Node binary small enough to carry: 29 MB on linux-x64).
 *
 *   bundle/webptq-<platform>-<arch>/node converter_lite.mjs --fmk=ONNX --modelFile=... --outputFile=...
 *
 * sharp (the fast image decoder) is not included: calibration images go through jpeg-js / pngjs there, and raw
 * `.bin` calibration data is identical everywhere.
 */
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync, writeFileSync, copyFileSync, chmodSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const platform = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
const name = `webptq-${process.platform}-${process.arch}`;
const outArg = process.argv.find((a) => a.startsWith('--out='));
const out = outArg ? path.resolve(outArg.slice(6)) : path.join(root, 'bundle', name);
const withNode = !process.argv.includes('--no-node');

if (!existsSync(path.join(root, 'dist/cli/converter.js'))) throw new Error('dist/ is missing: run `npm run build` first');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// One ES module per tool; `webgpu` stays outside (loaded at run time from node_modules beside the bundle).
const entries = { converter_lite: 'bin/converter_lite.js', benchmark: 'bin/benchmark.js', bench_gpu: 'perf/gpu.ts' };
await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, path.join(root, v)])),
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu', 'onnxruntime-node', 'sharp'],
  // CommonJS dependencies call require(); an ES module bundle has none of its own.
  banner: { js: "import { createRequire as __webptqRequire } from 'node:module'; const require = __webptqRequire(import.meta.url);" },
  logLevel: 'warning',
});

// Dawn for Node: the package's loader and this platform's addon only.
const webgpu = path.join(root, 'node_modules/webgpu');
const dst = path.join(out, 'node_modules/webgpu');
mkdirSync(path.join(dst, 'dist', platform), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) if (existsSync(path.join(webgpu, f))) copyFileSync(path.join(webgpu, f), path.join(dst, f));
cpSync(path.join(webgpu, 'dist', platform), path.join(dst, 'dist', platform), { recursive: true });

if (withNode) {
  copyFileSync(process.execPath, path.join(out, 'node'));
  chmodSync(path.join(out, 'node'), 0o755);
}
const runner = withNode ? './node' : 'node';
writeFileSync(path.join(out, 'README.txt'), `WebPTQ, self-contained (${platform}, Node ${process.version}${withNode ? ', Node included' : ''})

  ${runner} converter_lite.mjs --fmk=ONNX --modelFile=model.onnx --outputFile=model --quantType=PostTraining --configFile=calib.cfg
  ${runner} benchmark.mjs --modelFile=model.ms --device=GPU
  WEBPTQ_SHARED=/path/to/shared ${runner} bench_gpu.mjs --batches=1,8,32,64 --calib

The WebGPU device comes from Dawn (node_modules/webgpu, Vulkan on Linux: libvulkan1 and the GPU's driver must be
installed). Calibration images are decoded with jpeg-js / pngjs here (sharp is not bundled).
`);

if (process.argv.includes('--tar')) {
  execFileSync('tar', ['-cJf', `${path.basename(out)}.tar.xz`, path.basename(out)], { cwd: path.dirname(out), env: { ...process.env, XZ_OPT: '-6 -T0' } });
  console.log(`${out}.tar.xz`);
}
console.log(`${path.relative(process.cwd(), out) || '.'}/: ${Object.keys(entries).map((k) => `${k}.mjs`).join(', ')}, node_modules/webgpu (${platform})${withNode ? ', node' : ''}`);
