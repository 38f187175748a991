/** Browser bundle for the headless-Chromium test: the same converter and GPU executor modules as in Node. */
import { loadModel } from '../../src/convert.js';
import { acquireGpu } from '../../src/gpu/device.js';
import { GpuExecutor } from '../../src/gpu/executor.js';

export async function runOnGpu(modelBytes: ArrayBuffer, input: number[]): Promise<{ adapter: string; output: number[] }> {
  const g = loadModel(new Uint8Array(modelBytes), 'ONNX', 'mnist-8.onnx');
  const ctx = await acquireGpu();
  if (!ctx) throw new Error('no WebGPU adapter in this browser');
  const ex = await GpuExecutor.create(ctx, g, 1);
  await ex.run([Float32Array.from(input)]);
  const [out] = await ex.outputs();
  ex.destroy();
  return { adapter: ctx.adapterName, output: Array.from(out.data) };
}

(globalThis as unknown as { webptq: unknown }).webptq = { runOnGpu };
