/** Browser bundle for the headless-Chromium test: the same converter and GPU executor modules as in Node. */
import { loadModel } from '../../src/convert.js';
import { acquireGpu } from '../../src/gpu/device.js';
import { GpuExecutor } from '../../src/gpu/executor.js';
import { run } from '../../src/cpu/executor.js';
import { wasmKernels } from '../../src/cpu/wasm/index.js';

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

/** The CPU executor in the page: its output, the threads its kernels may use, and how many calls were split. */
export function runOnCpu(modelBytes: ArrayBuffer, name: string, shape: number[], input: number[]): { output: number[]; threads: number; splitCalls: number; isolated: boolean; cores: number } {
  const g = loadModel(new Uint8Array(modelBytes), 'ONNX', name);
  const w = wasmKernels();
  const before = w?.splitCalls ?? 0;
  const [out] = run(g, [{ shape, data: Float32Array.from(input) }]);
  return { output: Array.from(out.data), threads: w?.threads ?? 0, splitCalls: (w?.splitCalls ?? 0) - before, isolated: globalThis.crossOriginIsolated === true, cores: navigator.hardwareConcurrency };
}

(globalThis as unknown as { webptq: unknown }).webptq = { runOnGpu, runOnCpu };
