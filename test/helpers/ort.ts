/** onnxruntime-node as the oracle for ONNX outputs. */
import * as ort from 'onnxruntime-node';
import { float32ToFloat16, float16ToFloat32 } from '../../src/ir/numeric.js';

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** Runs a model on float32 feeds; `half` feeds and reads float16 (fp16 models), converting at the edges. */
export async function ortRun(modelPath: string | Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>, half = false): Promise<Record<string, Float32Array>> {
  const key = typeof modelPath === 'string' ? modelPath : '';
  let s = key ? sessions.get(key) : undefined;
  if (!s) {
    s = typeof modelPath === 'string' ? ort.InferenceSession.create(modelPath) : ort.InferenceSession.create(modelPath);
    if (key) sessions.set(key, s);
  }
  const sess = await s;
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds))
    inputs[k] = half ? new ort.Tensor('float16', Uint16Array.from(v.data, float32ToFloat16), v.dims) : new ort.Tensor('float32', v.data, v.dims);
  const res = await sess.run(inputs);
  const out: Record<string, Float32Array> = {};
  for (const name of sess.outputNames)
    out[name] = half ? Float32Array.from(res[name].data as Uint16Array, float16ToFloat32) : (res[name].data as Float32Array);
  return out;
}
