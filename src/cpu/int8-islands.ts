/**
 * Float islands of a full-quantized graph, run in int8 with the same bytes. MindSpore's converter leaves Concat
 * and MaxPool in float, so SqueezeNet's int8 model dequantizes each fire module's two expand outputs,
 * concatenates (and max-pools) floats, and quantizes again: at batch 1 those casts and float copies cost a third
 * of the int8 forward pass.
 *
 * Why it is exact: Concat only moves values and MaxPool takes a max (then RELU = max(v, 0), RELU6 = min(max(v,
 * 0), 6)). Each dequantization D_i and the island's final quantization Q (float arithmetic, C's round, clamp) are
 * non-decreasing, and max commutes with a non-decreasing map: Q(max(a, b)) = max(Q(a), Q(b)). So mapping each
 * int8 input once through the 256-entry table Q(D_i(q)) and running the island on those int8 values (RELU as a
 * max with Q(0), RELU6 also a min with Q(6)) gives exactly what the float island followed by Q gives. Only the
 * executor's route changes; the graph, and the .ms, keep MindSpore's casts.
 */
import type { Graph, Node } from '../ir/graph.js';
import type { RT, RTData } from '../ir/tensor.js';
import { poolGeometry } from '../ir/op-params.js';
import { ActivationType as A, QuantType, TypeId } from '../ir/schema/ops.js';
import { castParam, quantizeToInt8, int8WindowMax } from './int8.js';
import { concat, CopyRun } from './shape-ops.js';

/** One island: where it runs (the final cast's index), the nodes it replaces, and how to compute its output. */
export interface Island {
  /** What the profile calls it. */
  kind: string;
  at: number;
  replaces: number[];
  /** The int8 tensors it reads (the inputs of its dequantizing casts). */
  reads: number[];
  run(value: (tensor: number) => RT): RT;
}

const isCast = (n: Node, src: number, dst: number) => n.op === 'QuantDTypeCast' && n.attrs.src_t === src && n.attrs.dst_t === dst;
const MONOTONE_ACTIVATIONS = new Set<number>([A.NO_ACTIVATION, A.RELU, A.RELU6]);
const isFloatMove = (n: Node) => n.quantType !== QuantType.QUANT_ALL &&
  (n.op === 'Concat' || (n.op === 'MaxPoolFusion' && MONOTONE_ACTIVATIONS.has((n.attrs.activation_type as number) ?? 0)));

/** Every island of `g`: float Concat / MaxPool trees fed only by int8 -> float casts and read only by one float -> int8 cast. */
export function int8Islands(g: Graph): Island[] {
  if (!g.nodes.some((n) => n.op === 'QuantDTypeCast')) return [];
  const producer = new Map<number, number>(), uses = new Map<number, number>();
  g.nodes.forEach((n, i) => {
    n.outputs.forEach((t) => producer.set(t, i));
    n.inputs.forEach((t) => uses.set(t, (uses.get(t) ?? 0) + 1));
  });
  const outputs = new Set(g.outputs);
  /** A tensor read once, by the island, and not a graph output. */
  const private_ = (t: number) => uses.get(t) === 1 && !outputs.has(t);
  const islands: Island[] = [];
  g.nodes.forEach((last, at) => {
    if (!isCast(last, TypeId.float32, TypeId.int8)) return;
    const replaces: number[] = [], entries = new Map<number, number>(); // dequantizing cast's output -> its node
    const grow = (t: number): boolean => {
      const p = producer.get(t);
      if (p === undefined || !private_(t)) return false;
      const n = g.nodes[p];
      replaces.push(p);
      if (isCast(n, TypeId.int8, TypeId.float32)) return entries.set(t, p), true;
      return isFloatMove(n) && n.outputs.length === 1 && n.inputs.filter((x) => x >= 0).every(grow);
    };
    if (!grow(last.inputs[0]) || entries.size === 0) return;
    islands.push(island(g, at, replaces.sort((a, b) => a - b), entries));
  });
  return islands;
}

function island(g: Graph, at: number, replaces: number[], entries: Map<number, number>): Island {
  const out = castParam(g, g.nodes[at]);
  const inverseScale = Math.fround(1 / Math.fround(out.scale));
  const Q = (v: number) => quantizeToInt8(v, inverseScale, out.zeroPoint);
  /** Q(D(q)) for each int8 value q; undefined when it is the identity (the same parameters both sides). */
  const table = (cast: Node): Int8Array | undefined => {
    const p = castParam(g, cast), scale = Math.fround(p.scale);
    const t = Int8Array.from({ length: 256 }, (_, i) => Q(Math.fround((i - 128 - p.zeroPoint) * scale)));
    return t.every((v, i) => v === i - 128) ? undefined : t;
  };
  const tables = new Map([...entries].map(([t, node]) => [t, table(g.nodes[node])]));
  const reads = [...entries.values()].map((node) => g.nodes[node].inputs[0]);
  return {
    kind: 'int8 island (Concat/MaxPool)', at, replaces, reads,
    run(value) {
      // an entry's values are mapped through its table where they are first read: while a Concat copies them,
      // or before anything else reads them
      const local = new Map<number, RT>(), pending = new Map<RTData, Int8Array>();
      for (const [t, node] of entries) {
        const x = value(g.nodes[node].inputs[0]), lut = tables.get(t);
        if (lut) pending.set(x.data, lut);
        local.set(t, x);
      }
      const mapped = (x: RT): RT => {
        const lut = pending.get(x.data);
        return lut ? { shape: x.shape, data: lookUp(x.data as Int8Array, 0, x.data.length, lut, new Int8Array(x.data.length), 0) } : x;
      };
      const copyRun: CopyRun = (dst, src, from, count, to) => {
        const lut = pending.get(src);
        if (lut) lookUp(src as Int8Array, from, count, lut, dst as Int8Array, to);
        else dst.set(src.subarray(from, from + count), to);
      };
      for (const i of replaces) {
        const n = g.nodes[i];
        if (entries.has(n.outputs[0])) continue;
        const ins = n.inputs.filter((x) => x >= 0).map((x) => local.get(x)!);
        local.set(n.outputs[0], n.op === 'Concat' ? concat(n, ins, copyRun)[0] : maxPool(n, mapped(ins[0]), Q));
      }
      return mapped(local.get(g.nodes[at].inputs[0])!);
    },
  };
}

/** The float MaxPool on Q-mapped values: the window max, its RELU / RELU6 as a clamp to [Q(0), Q(6)]. */
function maxPool(n: Node, x: RT, Q: (v: number) => number): RT {
  const geo = poolGeometry(n, x.shape);
  const data = int8WindowMax(geo, x.data as Int8Array);
  const act = (n.attrs.activation_type as number) ?? 0;
  if (act !== A.NO_ACTIVATION) {
    const lo = Q(0), hi = act === A.RELU6 ? Q(6) : 127;
    for (let i = 0; i < data.length; i++) data[i] = data[i] < lo ? lo : data[i] > hi ? hi : data[i];
  }
  return { shape: [geo.n, geo.oh, geo.ow, geo.c], data };
}

/** out[to + i] = table[q[from + i] + 128] for i < count. */
function lookUp(q: Int8Array, from: number, count: number, table: Int8Array, out: Int8Array, to: number): Int8Array {
  for (let i = 0; i < count; i++) out[to + i] = table[q[from + i] + 128];
  return out;
}
