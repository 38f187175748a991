/**
 * The CPU reference executor: runs a Graph in MindSpore Lite form on float32 data (batch >= 1), one kernel
 * per op from the op registry (int8 kernels for full-quantized nodes). It is the oracle for the GPU executor
 * and the fallback when no adapter exists.
 */
import '../ops/index.js';
import type { Graph, Node, Tensor } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { findOp } from '../ir/op-registry.js';
import { RT } from '../ir/tensor.js';
import { dequantizeWeight, isQuantizedWeight, runsDequantized } from '../quant/dequant.js';
import { QuantType } from '../ir/schema/ops.js';
import { int8Islands } from './int8-islands.js';
import { convConcatRoutes } from './conv-concat.js';
import { giveBack, recyclableBuffer } from './recycle.js';
import { withRuntimeMath } from './activation.js';

export interface RunOptions {
  /** Called with every op output as soon as it is computed (statistics, per-layer comparison). */
  observe?: (tensorId: number, value: RT, node: Node) => void;
  /**
   * Run the float Concat / MaxPool islands between int8 layers in int8 (cpu/int8-islands: the same bytes, no
   * casts). Default true; off when `observe` is set, since the islands' float tensors are then not computed.
   */
  int8Islands?: boolean;
  /**
   * Hand each activation's buffer to later kernels once it is dead (cpu/recycle), inside begin/endRecycling.
   * Only for callers whose `observe` keeps nothing it is given (the statistics pass); graph outputs are never
   * handed on.
   */
  recycle?: boolean;
  /**
   * Compute the float ops with MindSpore Lite's own approximations (cpu/nnacl-math: exp, sigmoid, tanh, softmax)
   * instead of the exact functions. Default: on for a quantized graph (full or dynamic int8), whose float values
   * are rounded to int8 and so must be the runtime's to give its int8 bytes; off for float graphs.
   */
  runtimeMath?: boolean;
  /**
   * Called with each node and the milliseconds it took (`benchmark --timeProfiling`); a route that replaces
   * several nodes is timed as one, given with its last node and its kind.
   */
  timeNode?: (node: Node, ms: number, route?: string) => void;
}

/** A graph with int8 activations somewhere: full-quantized or dynamic-quantized nodes. */
export const isQuantizedGraph = (g: Graph): boolean =>
  g.nodes.some((n) => n.quantType === QuantType.QUANT_ALL || n.quantType === QuantType.QUANT_DYNAMIC);

/** The value of a constant tensor as the executor sees it. */
export function constValue(t: Tensor): RT {
  if (!t.data) throw new UserError(`tensor ${t.name}: ${t.dtype} constant data cannot be executed (raw or compressed)`);
  return { shape: t.shape, data: t.data };
}

/**
 * One node on its input values. Full- and dynamic-quantized nodes with int8 data (and QuantDTypeCast /
 * DynamicQuant, which need quant params) run the op's int8 kernel; everything else its float kernel.
 */
export function runNode(node: Node, inputs: RT[], g?: Graph): RT[] {
  const def = findOp(node.op);
  const int8 = def?.int8Kernel;
  const integerNode = node.quantType === QuantType.QUANT_ALL || node.quantType === QuantType.QUANT_DYNAMIC;
  if (g && int8 && (node.op === 'QuantDTypeCast' || node.op === 'DynamicQuant' || (integerNode && inputs[0]?.data instanceof Int8Array)))
    return int8(node, inputs, g);
  if (!def?.cpu) throw new UserError(`op ${node.op} (node ${node.name}) is not supported by the CPU executor`);
  return def.cpu(node, inputs);
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
  return withRuntimeMath(opts.runtimeMath ?? isQuantizedGraph(g), () => runGraph(g, inputs, opts));
}

function runGraph(g: Graph, inputs: RT[], opts: RunOptions): RT[] {
  if (inputs.length !== g.inputs.length)
    throw new UserError(`model has ${g.inputs.length} inputs, got ${inputs.length}`);
  const values = new Map<number, RT>();
  g.inputs.forEach((id, i) => values.set(id, inputs[i]));
  // Routes that replace several nodes (int8 islands, convolutions into a Concat): none when every value is observed.
  const islands = opts.observe ? [] : [...(opts.int8Islands === false ? [] : int8Islands(g)), ...convConcatRoutes(g)];
  const islandAt = new Map(islands.map((is) => [is.at, is]));
  const replaced = new Set(islands.flatMap((is) => is.replaces));
  // Free each activation after its last consumer, so memory is bounded by the live set.
  const lastUse = new Map<number, number>();
  g.nodes.forEach((n, i) => {
    if (!replaced.has(i)) n.inputs.forEach((t) => lastUse.set(t, i));
    islandAt.get(i)?.reads.forEach((t) => lastUse.set(t, i));
  });
  const keep = new Set(g.outputs);
  const get = (id: number, node: Node, slot: number): RT => {
    const v = values.get(id);
    if (v) return v;
    const t = g.tensors[id];
    if (runsDequantized(node) && isQuantizedWeight(t)) return dequantized(g, node, slot);
    if (t.data || t.raw) return constValue(t);
    throw new UserError(`node ${node.name}: input ${t.name} has no value`);
  };
  // Live values per recyclable buffer: an op that aliases or slices (Reshape, Identity, Split) shares it.
  const holders = new Map<ArrayBuffer, number>();
  const hold = (v: RT) => {
    const b = opts.recycle ? recyclableBuffer(v.data) : undefined;
    if (b) holders.set(b, (holders.get(b) ?? 0) + 1);
  };
  const drop = (id: number) => {
    const v = values.get(id);
    values.delete(id);
    const b = v && holders.has(v.data.buffer as ArrayBuffer) ? (v.data.buffer as ArrayBuffer) : undefined;
    if (!b) return;
    const left = holders.get(b)! - 1;
    if (left > 0) holders.set(b, left);
    else {
      holders.delete(b);
      giveBack(b);
    }
  };
  const free = (ids: number[], i: number) => {
    for (const id of ids) if (lastUse.get(id) === i && !keep.has(id) && !g.inputs.includes(id)) drop(id);
  };
  g.nodes.forEach((node, i) => {
    if (replaced.has(i)) return;
    const island = islandAt.get(i);
    const t0 = opts.timeNode ? performance.now() : 0;
    if (island) {
      values.set(node.outputs[0], island.run((id) => values.get(id)!));
      opts.timeNode?.(node, performance.now() - t0, island.kind);
      return free(island.reads, i);
    }
    const ins = node.inputs.map((id, slot) => (id >= 0 ? get(id, node, slot) : undefined)).filter((x): x is RT => !!x);
    const outs = runNode(node, ins, g);
    opts.timeNode?.(node, performance.now() - t0);
    node.outputs.forEach((id, j) => {
      if (!outs[j]) return;
      values.set(id, outs[j]);
      hold(outs[j]);
      opts.observe?.(id, outs[j], node);
    });
    free(node.inputs, i);
  });
  return g.outputs.map((id) => {
    const v = values.get(id) ?? (g.tensors[id].data ? constValue(g.tensors[id]) : undefined);
    if (!v) throw new UserError(`output ${g.tensors[id].name} was not computed`);
    return v;
  });
}
