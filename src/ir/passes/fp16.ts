/**
 * `--fp16=on` (MindSpore's ConvertFP32ToFP16 pass, the last step before export): every float32 constant is
 * stored as float16, halving a float model. The tensor keeps the half bytes as `raw` (what is written) and
 * their float32 values as `data` (what the runtime computes with after casting them back), so the in-memory
 * graph computes what the file does. Quantized weights and integer constants are left alone.
 */
import type { Graph } from '../graph.js';
import { float32ToHalfBytes, halfBytesToFloat32 } from '../numeric.js';

export function storeConstantsAsFloat16(g: Graph): number {
  let converted = 0;
  for (const t of g.tensors) {
    if (t.dtype !== 'float32' || !(t.data instanceof Float32Array) || t.raw) continue;
    const raw = float32ToHalfBytes(t.data);
    Object.assign(t, { dtype: 'float16', raw, data: halfBytesToFloat32(raw) });
    converted++;
  }
  return converted;
}
