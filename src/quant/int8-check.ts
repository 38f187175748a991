/**
 * Is the int8 arithmetic right? Each int8 conv / FC / MatMul is recomputed in float from its own int8 input,
 * its dequantized weights and bias, and the float result quantized with the output's parameters. The runtime's
 * fixed point rounds twice, and float sums move values near a half step, so the two may differ by one step;
 * more than one step is not rounding: the node computes something else (an int32 overflow, a multiplier the
 * shifts get wrong). Bad parameters (a range that clips) do not show here: the report's clipped share does.
 */
import type { Graph, Node } from '../ir/graph.js';
import { run, runNode } from '../cpu/executor.js';
import { dequantizeWeight } from './dequant.js';
import { QuantType } from '../ir/schema/ops.js';
import type { RT } from '../ir/tensor.js';

export interface Int8Divergence {
  node: string;
  tensor: string;
  /** Elements more than one step from the float recomputation, and the largest distance in steps. */
  elements: number;
  total: number;
  maxSteps: number;
}

const INT8_COMPUTE = new Set(['Conv2DFusion', 'FullConnection', 'MatMulFusion']);
const isInt8Compute = (n: Node) => n.quantType === QuantType.QUANT_ALL && INT8_COMPUTE.has(n.op);

/** Dequantized constants, once per tensor. */
const floatConsts = new WeakMap<object, Float32Array>();

function floatInputs(g: Graph, n: Node, x: RT): RT[] {
  const q = g.tensors[n.inputs[0]].quant![0];
  const xf = Float32Array.from(x.data, (v) => (v - q.zeroPoint) * q.scale);
  return [{ shape: x.shape, data: xf }, ...n.inputs.slice(1).map((id, k) => {
    const t = g.tensors[id];
    let d = floatConsts.get(t);
    // the int32 bias: one scale per output channel (or one), its element's own
    const bias = () => Float32Array.from(t.data!, (v, c) => Number(v) * t.quant![t.quant!.length > 1 ? c : 0].scale);
    if (!d) floatConsts.set(t, (d = k === 1 ? bias() : dequantizeWeight(g, n, k + 1)));
    return { shape: t.shape, data: d };
  })];
}

/** How many elements of `node`'s int8 output `y` are more than one step from its float recomputation on `x`. */
function check(g: Graph, node: Node, x: RT, y: RT): Int8Divergence {
  const [f] = runNode({ ...node, quantType: QuantType.QUANT_NONE }, floatInputs(g, node, x));
  const { scale, zeroPoint } = g.tensors[node.outputs[0]].quant![0];
  let elements = 0, maxSteps = 0;
  for (let i = 0; i < f.data.length; i++) {
    const q = Math.max(-128, Math.min(127, Math.round(f.data[i] / scale + zeroPoint)));
    const d = Math.abs(q - y.data[i]);
    if (d > 1) elements++;
    if (d > maxSteps) maxSteps = d;
  }
  return { node: node.name, tensor: g.tensors[node.outputs[0]].name, elements, total: f.data.length, maxSteps };
}

/** The int8 compute nodes of `g` whose output is more than one step from its float recomputation on `inputs`, in graph order. */
export function int8Divergences(g: Graph, inputs: RT[]): Int8Divergence[] {
  const checked = g.nodes.filter(isInt8Compute);
  if (!checked.length) return [];
  // Keep each checked node's int8 input until that node has run.
  const readers = new Map<number, number>();
  for (const n of checked) readers.set(n.inputs[0], (readers.get(n.inputs[0]) ?? 0) + 1);
  const held = new Map<number, RT>();
  g.inputs.forEach((id, k) => readers.has(id) && held.set(id, inputs[k]));
  const found: Int8Divergence[] = [];
  run(g, inputs, {
    observe: (id, v, node) => {
      if (readers.has(id)) held.set(id, v);
      if (!isInt8Compute(node) || id !== node.outputs[0]) return;
      const x = held.get(node.inputs[0])!;
      const r = check(g, node, x, v);
      if (r.elements) found.push(r);
      const left = readers.get(node.inputs[0])! - 1;
      readers.set(node.inputs[0], left);
      if (!left) held.delete(node.inputs[0]);
    },
  });
  return found;
}

/** One line for the converter's report and benchmark: the first int8 tensor beyond rounding, or that there is none. */
export function divergenceLine(found: Int8Divergence[] | undefined): string {
  if (!found) return 'int8 arithmetic: not checked (no report samples)';
  if (!found.length) return 'int8 arithmetic: every int8 node within one step of its float recomputation';
  const f = found[0];
  return `int8 arithmetic: ${found.length} node${found.length > 1 ? 's' : ''} beyond rounding; first ${f.tensor} (node ${f.node}): ` +
    `${f.elements} of ${f.total} elements up to ${f.maxSteps} steps from the float result on its own int8 input`;
}
