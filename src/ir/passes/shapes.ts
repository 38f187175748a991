/**
 * Shape inference by execution: runs the graph once on zero inputs of the declared shapes with the CPU
 * executor and records every tensor's shape and dtype. One implementation of each op's shape rule (the kernel
 * itself) instead of a second copy that could drift from it.
 */
import { Graph, sizeOf } from '../graph.js';
import type { Tensor } from '../graph.js';
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

/**
 * Every tensor's shape with `batch` samples, from one CPU pass on zeros (the kernels' own shape rules), or
 * undefined when the graph does not scale with the batch: every activation must keep its batch-1 shape with
 * dim 0 multiplied by the batch.
 */
export function batchShapes(g: Graph, batch: number): Map<number, number[]> | undefined {
  const shapes = new Map<number, number[]>();
  const declared = (id: number) => g.tensors[id].shape;
  const inputs = g.inputs.map((id) => {
    const s = [batch * (declared(id)[0] ?? 1), ...declared(id).slice(1)];
    shapes.set(id, s);
    return { shape: s, data: new Float32Array(sizeOf(s)) };
  });
  try {
    run(g, inputs, { shapesOnly: true, observe: (id, v) => shapes.set(id, v.shape) });
  } catch (e) {
    if (batch === 1) throw e;
    return undefined;
  }
  if (batch === 1) return shapes;
  for (const [id, s] of shapes) {
    const d = declared(id);
    if (g.isConst(id)) continue;
    if (s.length !== d.length || s[0] !== d[0] * batch || s.some((v, k) => k > 0 && v !== d[k])) return undefined;
  }
  return shapes;
}


/**
 * The graph to run with `batch` samples per pass. Exported models often bake batch 1 into Reshape targets
 * ([1, 256], [1, -1, 2]); a view of the graph with those leading 1s scaled by the batch is used when, and only
 * when, every activation then scales exactly with the batch. Undefined: run one sample per pass.
 */
export function batchedGraph(g: Graph, batch: number): { graph: Graph; shapes: Map<number, number[]> } | undefined {
  const direct = batchShapes(g, batch);
  if (direct) return { graph: g, shapes: direct };
  const b0 = g.inputs.length ? g.tensors[g.inputs[0]].shape[0] : 1;
  const view = Object.assign(Object.create(Object.getPrototypeOf(g)), g) as Graph;
  view.tensors = [...g.tensors];
  let changed = false;
  for (const n of g.nodes) {
    const id = n.inputs[1];
    const t = n.op === 'Reshape' && id !== undefined ? g.tensors[id] : undefined;
    if (!t?.data || t.data[0] !== b0) continue;
    const data = Int32Array.from(t.data as ArrayLike<number>);
    data[0] = b0 * batch;
    view.tensors[id] = { ...t, data } as Tensor;
    changed = true;
  }
  const shapes = changed ? batchShapes(view, batch) : undefined;
  return shapes ? { graph: view, shapes } : undefined;
}
