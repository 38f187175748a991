/**
 * Shape inference by execution: runs the graph once on zero inputs of the declared shapes with the CPU
 * executor and records every tensor's shape and dtype. One implementation of each op's shape rule (the kernel
 * itself) instead of a second copy that could drift from it.
 */
import { Graph, sizeOf } from '../graph.js';
import { run } from '../../cpu/executor.js';
import type { RT } from '../../cpu/tensor.js';

export function inputZeros(g: Graph): RT[] {
  return g.inputs.map((id) => {
    const t = g.tensors[id];
    const n = sizeOf(t.shape);
    return { shape: [...t.shape], data: t.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n) };
  });
}

export function inferShapes(g: Graph): Map<number, RT> {
  const seen = new Map<number, RT>();
  run(g, inputZeros(g), {
    observe: (id, v) => {
      const t = g.tensors[id];
      t.shape = [...v.shape];
      t.dtype = v.data instanceof Int32Array ? 'int32' : 'float32';
      seen.set(id, v);
    },
  });
  return seen;
}
