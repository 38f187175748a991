/**
 * Float convolutions of one input joined by a channel Concat (SqueezeNet's fire modules: expand 1x1 and 3x3),
 * run as one route that writes each convolution into its channels of the Concat's output (wasm/conv's
 * wasmConvsConcat). The Concat's copy and one copy of the input and output in and out of WebAssembly memory
 * are saved per module; the values are the separate convolutions' followed by the Concat, bit for bit (the same
 * kernels and sums, only the output's row stride differs). Only the executor's route changes, not the graph.
 */
import type { Graph, Node } from '../ir/graph.js';
import type { RT } from '../ir/tensor.js';
import { convGeometry, isDepthwise } from '../ir/op-params.js';
import { normAxis } from '../ir/tensor.js';
import { QuantType } from '../ir/schema/ops.js';
import { isQuantizedWeight } from '../quant/dequant.js';
import { fusesActivation, wasmConvsConcat, ConcatPart } from './wasm/conv.js';
import { conv2d } from './conv.js';
import { concat } from './shape-ops.js';
import type { Island } from './int8-islands.js';

/** A float, constant-weight, ungrouped convolution whose activation the kernels fuse. */
function plainConv(g: Graph, n: Node | undefined): n is Node {
  if (!n || n.op !== 'Conv2DFusion' || n.quantType === QuantType.QUANT_ALL || n.quantType === QuantType.QUANT_DYNAMIC) return false;
  const w = g.tensors[n.inputs[1]], b = n.inputs[2] >= 0 ? g.tensors[n.inputs[2]] : undefined;
  const constant = (t: typeof w) => t.dtype === 'float32' && t.data instanceof Float32Array && !isQuantizedWeight(t);
  return constant(w) && (!b || constant(b)) && ((n.attrs.group as number) ?? 1) === 1 && fusesActivation((n.attrs.activation_type as number) ?? 0);
}

/** Every such route of `g`: a 4-D channel Concat whose inputs are all convolutions of one tensor, read only by it. */
export function convConcatRoutes(g: Graph): Island[] {
  const producer = new Map<number, number>(), uses = new Map<number, number>();
  g.nodes.forEach((n, i) => {
    n.outputs.forEach((t) => producer.set(t, i));
    n.inputs.forEach((t) => uses.set(t, (uses.get(t) ?? 0) + 1));
  });
  const outputs = new Set(g.outputs);
  const routes: Island[] = [];
  g.nodes.forEach((cat, at) => {
    if (cat.op !== 'Concat' || cat.quantType === QuantType.QUANT_ALL || cat.inputs.length < 2) return;
    const rank = g.tensors[cat.outputs[0]].shape.length;
    if (rank !== 4 || normAxis((cat.attrs.axis as number) ?? 0, rank) !== 3) return;
    const convs = cat.inputs.map((t) => (uses.get(t) === 1 && !outputs.has(t) ? g.nodes[producer.get(t) ?? -1] : undefined));
    if (!convs.every((c) => plainConv(g, c)) || new Set(convs.map((c) => c!.inputs[0])).size !== 1) return;
    const nodes = convs as Node[];
    routes.push({
      kind: 'Conv2DFusion into Concat', at, reads: [nodes[0].inputs[0]], replaces: cat.inputs.map((t) => producer.get(t)!).sort((a, b) => a - b),
      run: (value) => run(g, cat, nodes, value(nodes[0].inputs[0])),
    });
  });
  return routes;
}

function run(g: Graph, cat: Node, convs: Node[], x: RT): RT {
  const parts: ConcatPart[] = convs.map((n) => {
    const w = g.tensors[n.inputs[1]], b = n.inputs[2] >= 0 ? g.tensors[n.inputs[2]] : undefined;
    return { g: convGeometry(n, x.shape, w.shape), weights: w.data as Float32Array, bias: b?.data as Float32Array | undefined, act: (n.attrs.activation_type as number) ?? 0 };
  });
  const same = parts.every((p) => !isDepthwise(p.g) && p.g.n === parts[0].g.n && p.g.oh === parts[0].g.oh && p.g.ow === parts[0].g.ow);
  const fast = same ? wasmConvsConcat(x.data as Float32Array, parts) : undefined;
  if (fast) return { shape: [parts[0].g.n, parts[0].g.oh, parts[0].g.ow, fast.length / (parts[0].g.n * parts[0].g.oh * parts[0].g.ow)], data: fast };
  // No kernels (or shapes the route does not join): the nodes one by one.
  const outs = convs.map((n) => {
    const [w, b] = [n.inputs[1], n.inputs[2]].map((t) => (t >= 0 ? { shape: g.tensors[t].shape, data: g.tensors[t].data! } : undefined));
    return conv2d(n, b ? [x, w!, b] : [x, w!])[0];
  });
  return concat(cat, outs)[0];
}
