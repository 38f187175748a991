/**
 * The CPU reference executor: runs a Graph in MindSpore Lite form on float32 data (batch >= 1), one kernel
 * per op. It is the oracle for the GPU executor and the fallback when no adapter exists.
 */
import type { Graph, Node, Tensor } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { RT } from './tensor.js';
import { conv2d, convTranspose, convGeometry, deconvGeometry } from './conv.js';
import { fullConnection, matMul } from './matmul.js';
import { binary, unary, prelu, scale, batchNorm } from './elementwise.js';
import { pool, poolGeometry } from './pool.js';
import { reduce, softmax } from './reduce.js';
import * as S from './shape-ops.js';
import { resize } from './resize.js';
import { dequantizeWeight, isQuantizedWeight, runsDequantized } from '../quant/dequant.js';
import { INT8_KERNELS, quantDTypeCast } from './int8.js';

export type Kernel = (node: Node, inputs: RT[]) => RT[];

export const KERNELS: Record<string, Kernel> = {
  Conv2DFusion: conv2d,
  Conv2dTransposeFusion: convTranspose,
  FullConnection: fullConnection,
  MatMulFusion: matMul,
  AddFusion: binary, SubFusion: binary, MulFusion: binary, DivFusion: binary, PowFusion: binary,
  Maximum: binary, Minimum: binary,
  Activation: unary, LeakyRelu: unary, Clip: unary, ExpFusion: unary, Sqrt: unary, Abs: unary, Neg: unary,
  PReLUFusion: prelu,
  ScaleFusion: scale,
  FusedBatchNorm: batchNorm,
  MaxPoolFusion: pool, AvgPoolFusion: pool,
  ReduceFusion: reduce,
  Softmax: softmax,
  Reshape: S.reshape, Flatten: S.flatten, Squeeze: S.squeeze, Unsqueeze: S.unsqueeze, ExpandDims: S.expandDims,
  Transpose: S.transpose, Concat: S.concat, StridedSlice: S.stridedSlice, SliceFusion: S.sliceFusion,
  Split: S.split, Gather: S.gather, PadFusion: S.pad, Shape: S.shapeOf, Cast: S.cast,
  Resize: resize,
};

export interface RunOptions {
  /** Called with every op output as soon as it is computed (statistics, per-layer comparison). */
  observe?: (tensorId: number, value: RT, node: Node) => void;
  /** Shape inference: the heavy ops return zeros of the right shape instead of computing. */
  shapesOnly?: boolean;
}

/** Output shapes of the arithmetic-heavy ops without the arithmetic (shape inference of big models). */
const SHAPE_ONLY: Record<string, (node: Node, ins: RT[]) => number[]> = {
  Conv2DFusion: (n, [x, w]) => { const c = convGeometry(n, x.shape, w.shape); return [c.n, c.oh, c.ow, c.oc]; },
  Conv2dTransposeFusion: (n, [x, w]) => { const c = deconvGeometry(n, x.shape, w.shape); return [c.n, c.oh, c.ow, c.oc]; },
  MaxPoolFusion: (n, [x]) => { const p = poolGeometry(n, x.shape); return [p.n, p.oh, p.ow, p.c]; },
  AvgPoolFusion: (n, [x]) => { const p = poolGeometry(n, x.shape); return [p.n, p.oh, p.ow, p.c]; },
};

/** The value of a constant tensor as the executor sees it. */
export function constValue(t: Tensor): RT {
  if (!t.data) throw new UserError(`tensor ${t.name}: ${t.dtype} constant data cannot be executed (raw or compressed)`);
  return { shape: t.shape, data: t.data };
}

export function runNode(node: Node, inputs: RT[], g?: Graph): RT[] {
  if (g && node.op === 'QuantDTypeCast') return quantDTypeCast(node, inputs, g);
  // Full-quantized nodes with int8 data run the integer kernels; data movement is type-generic.
  if (g && node.quantType === 5 && inputs[0]?.data instanceof Int8Array && INT8_KERNELS[node.op]) return INT8_KERNELS[node.op](node, inputs, g);
  const k = KERNELS[node.op];
  if (!k) throw new UserError(`op ${node.op} (node ${node.name}) is not supported by the CPU executor`);
  return k(node, inputs);
}

/** Weight-quantized constants decoded once per tensor, as the runtime does at load. */
const decodedWeights = new WeakMap<Tensor, RT>();
function dequantized(g: Graph, node: Node, slot: number): RT {
  const t = g.tensors[node.inputs[slot]];
  let v = decodedWeights.get(t);
  if (!v) {
    v = { shape: t.shape, data: dequantizeWeight(g, node, slot) };
    decodedWeights.set(t, v);
  }
  return v;
}

/** Runs the graph on `inputs` (graph input order) and returns the graph outputs in order. */
export function run(g: Graph, inputs: RT[], opts: RunOptions = {}): RT[] {
  if (inputs.length !== g.inputs.length)
    throw new UserError(`model has ${g.inputs.length} inputs, got ${inputs.length}`);
  const values = new Map<number, RT>();
  g.inputs.forEach((id, i) => values.set(id, inputs[i]));
  // Free each activation after its last consumer, so memory is bounded by the live set.
  const lastUse = new Map<number, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((t) => lastUse.set(t, i)));
  const keep = new Set(g.outputs);
  const get = (id: number, node: Node, slot: number): RT => {
    const v = values.get(id);
    if (v) return v;
    const t = g.tensors[id];
    if (runsDequantized(node) && isQuantizedWeight(t)) return dequantized(g, node, slot);
    if (t.data || t.raw) return constValue(t);
    throw new UserError(`node ${node.name}: input ${t.name} has no value`);
  };
  g.nodes.forEach((node, i) => {
    const ins = node.inputs.map((id, slot) => (id >= 0 ? get(id, node, slot) : undefined)).filter((x): x is RT => !!x);
    const shapeOnly = opts.shapesOnly ? SHAPE_ONLY[node.op] : undefined;
    const outs = shapeOnly ? [{ shape: shapeOnly(node, ins), data: new Float32Array(0) }] : runNode(node, ins, g);
    if (shapeOnly) outs[0].data = new Float32Array(outs[0].shape.reduce((a, b) => a * b, 1));
    node.outputs.forEach((id, j) => {
      if (!outs[j]) return;
      values.set(id, outs[j]);
      opts.observe?.(id, outs[j], node);
    });
    for (const id of node.inputs) if (lastUse.get(id) === i && !keep.has(id) && !g.inputs.includes(id)) values.delete(id);
  });
  return g.outputs.map((id) => {
    const v = values.get(id) ?? (g.tensors[id].data ? constValue(g.tensors[id]) : undefined);
    if (!v) throw new UserError(`output ${g.tensors[id].name} was not computed`);
    return v;
  });
}
