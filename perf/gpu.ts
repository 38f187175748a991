/**
 * npm run bench:gpu — the WebGPU executor per model and batch: forward samples/s and achieved GFLOP/s (the
 * convolutions' and matrix products' multiply-adds x 2), with today's kernels and the previous ones
 * (`WEBPTQ_KERNELS=v1`: GEMM, pooling, elementwise and reductions as before the GPU speed work) side by side on
 * the same adapter, plus calibration samples/s with statistics (min/max and histogram passes) and the share of
 * time in each op kind (timestamp queries where the adapter has them, else each node submitted alone and waited
 * for). Inputs are made before timing; each figure is the minimum of --runs runs after one warm-up.
 * SwiftShader (no hardware GPU) is a software device: its figures compare kernels, never GPUs.
 *
 *   npm run bench:gpu [-- --models=squeezenet,ultraface,vww,deeplab --batches=1,8 --runs=2 --calib]
 */
import { loadModel, Fmk } from '../src/convert.js';
import { GpuExecutor } from '../src/gpu/executor.js';
import { acquireGpu } from '../src/gpu/device.js';
import { collectStatistics } from '../src/calibrate.js';
import { convGeometry, matMulShape } from '../src/ir/op-params.js';
import type { Graph } from '../src/ir/graph.js';
import { sizeOf } from '../src/ir/graph.js';
import { model, readBytes } from '../test/helpers/data.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const runs = Number(arg('runs', '2'));
const batches = arg('batches', '1,8').split(',').map(Number);
const which = arg('models', 'squeezenet,ultraface,vww,deeplab').split(',');
const calib = process.argv.includes('--calib');

interface Bench { name: string; file: string; fmk: Fmk }
const BENCHES: Bench[] = [
  { name: 'squeezenet', file: model('onnx/squeezenet1.1-fp32.onnx'), fmk: 'ONNX' },
  { name: 'ultraface', file: model('onnx/ultraface-rfb-320.onnx'), fmk: 'ONNX' },
  { name: 'vww', file: model('tflite/vww-mobilenetv1-0.25-96-float.tflite'), fmk: 'TFLITE' },
  // the largest model in ../shared/models with a fixed input size (ppocr-rec, larger, has a symbolic width)
  { name: 'deeplab', file: model('corpus/deeplabv3-mnv2.onnx'), fmk: 'ONNX' },
];

/** Multiply-adds x 2 of one sample's convolutions and matrix products (shapes as the graph declares them). */
function flopsPerSample(g: Graph): number {
  let flops = 0;
  for (const n of g.nodes) {
    const shape = (slot: number) => g.tensors[n.inputs[slot]]?.shape ?? [];
    if (n.op === 'Conv2DFusion') {
      const c = convGeometry(n, shape(0), shape(1));
      flops += (2 * c.oh * c.ow * c.oc * c.kh * c.kw * c.ic) / c.group;
    } else if (n.op === 'MatMulFusion' || n.op === 'FullConnection') {
      const out = sizeOf(g.tensors[n.outputs[0]].shape);
      const k = n.op === 'FullConnection' ? shape(1)[1] : matMulShape(n, shape(0), shape(1)).K;
      flops += 2 * out * k;
    }
  }
  return flops / Math.max(1, g.tensors[g.inputs[0]].shape[0] || 1);
}

const gpu = await acquireGpu();
if (!gpu) {
  console.log('no WebGPU adapter: nothing to measure');
  process.exit(0);
}
console.log(`adapter: ${gpu.adapterName}${gpu.software ? ' (software: compares kernels, not GPUs)' : ''}`);
const rows: string[][] = [['model', 'batch', 'kernels', 'forward ms', 'samples/s', 'GFLOP/s', 'vs v1']];
for (const b of BENCHES.filter((x) => which.includes(x.name))) {
  const g = loadModel(readBytes(b.file), b.fmk, b.file);
  const flops = flopsPerSample(g);
  for (const batch of batches) {
    const ms: Record<string, number> = {};
    for (const kernel of ['v1', 'current']) {
      if (kernel === 'v1') process.env.WEBPTQ_KERNELS = 'v1';
      else delete process.env.WEBPTQ_KERNELS;
      const ex = await GpuExecutor.create(gpu, g, batch);
      const inputs = g.inputs.map((id) => Float32Array.from({ length: ex.batch * sizeOf(g.tensors[id].shape.map((d) => Math.max(d, 1))) / Math.max(1, g.tensors[id].shape[0] || 1) }, (_, i) => Math.sin(i / 97)));
      await ex.run(inputs);
      await ex.outputs();
      let best = Infinity;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        await ex.run(inputs);
        await ex.outputs();
        best = Math.min(best, performance.now() - t0);
      }
      ms[kernel] = best;
      if (kernel === 'current') {
        const profile = await ex.profile();
        const shares = [...profile.ms].sort((a, b) => b[1] - a[1]);
        const total = shares.reduce((a, [, t]) => a + t, 0);
        console.log(`${b.name} batch ${ex.batch} time by op (${profile.method}): ${shares.slice(0, 6).map(([op, t]) => `${op} ${((100 * t) / total).toFixed(0)}%`).join(', ')}`);
      }
      ex.destroy();
      const rate = (ex.batch / best) * 1000;
      rows.push([b.name, String(ex.batch), kernel, best.toFixed(1), rate.toFixed(2), ((flops * rate) / 1e9).toFixed(2), kernel === 'current' ? `${(ms.v1 / best).toFixed(2)}x` : '']);
      console.log(rows[rows.length - 1].join(' | '));
    }
  }
  if (calib) {
    const batch = Math.max(...batches);
    const sample = g.inputs.map((id) => Float32Array.from({ length: sizeOf(g.tensors[id].shape.map((d) => Math.max(d, 1))) }, (_, i) => Math.cos(i / 89)));
    const src = { count: batch * 2, get: () => sample };
    await collectStatistics(g, { count: batch, get: src.get }, { passes: ['minmax', 'histogram'], batchSize: batch, gpu });
    const t0 = performance.now();
    await collectStatistics(g, src, { passes: ['minmax', 'histogram'], batchSize: batch, gpu });
    console.log(`${b.name}: calibration with statistics (min/max + histogram passes) ${((src.count / (performance.now() - t0)) * 1000).toFixed(2)} samples/s at batch ${batch}`);
  }
}
const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
console.log(`\n${rows.map((r) => r.map((v, k) => v.padEnd(widths[k])).join('  ')).join('\n')}`);
console.log(`(minimum of ${runs} runs after a warm-up; GFLOP/s counts convolutions and matrix products)`);
gpu.release();
process.exit(0);
