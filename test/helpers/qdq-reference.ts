/**
 * An independent reference for full quantization: onnxruntime runs the source ONNX model with
 * QuantizeLinear / DequantizeLinear wherever our int8 model quantizes, with *our* parameters (activation scale
 * and zero point, the int8 weights and int32 bias dequantized), and float math in between. What it computes is
 * what our parameters are worth; where our int8 executor differs from it, the arithmetic is wrong, not the
 * parameters.
 *
 * Our tensors are found in the ONNX model by value (the float model's activations on one input, layouts
 * NHWC and NCHW tried), not by name: fusions and layout moves rename them. Each int8 compute node is then
 * re-expressed in ONNX (Conv, or MatMul + Add, with its fused activation) reading the Q/DQ of its input and
 * writing, through a Q/DQ with its output's parameters, the value every original reader of that tensor sees.
 */
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';
import { ONNX_PROTO } from '../../src/ir/import/proto/onnx-proto.js';
import type { Graph, Node, QuantParam } from '../../src/ir/graph.js';
import { run, runNode } from '../../src/cpu/executor.js';
import { int8Sums } from '../../src/cpu/int8.js';
import { convGeometry } from '../../src/ir/op-params.js';
import { ActivationType, PadMode } from '../../src/ir/schema/ops.js';
import type { RT } from '../../src/ir/tensor.js';
import { nhwcToNchw } from './data.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const ModelProto = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');

/** Where one of our tensors is in the ONNX model: its name, and whether ONNX holds it NCHW where ours is NHWC. */
interface Site { name: string; nchw: boolean }

/** One int8 compute node as the reference sees it. */
export interface QdqNode {
  node: Node;
  input: Site;
  output: Site;
  inQ: QuantParam;
  outQ: QuantParam;
  /** The ONNX names of the int8 tensors the reference quantizes this node's input and output to. */
  qIn: string;
  qOut: string;
}

export interface QdqReference {
  model: Uint8Array;
  nodes: QdqNode[];
  /** Runs the reference: its graph outputs by name, and every int8 tensor of `nodes`. */
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
}

const isCompute = (n: Node) => n.quantType === 5 && ['Conv2DFusion', 'FullConnection', 'MatMulFusion'].includes(n.op);

/** NHWC data as NCHW, for a 4-D tensor. */
const toNchw = (v: RT) => nhwcToNchw(v.data as Float32Array, v.shape[0], v.shape[1], v.shape[2], v.shape[3]);

/** NCHW data [n, c, h, w] as NHWC. */
export function nchwToNhwc<T extends Int8Array | Float32Array>(x: T, [n, c, h, w]: readonly number[]): T {
  const out = new (x.constructor as new (n: number) => T)(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++)
      out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx];
  return out;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let md = 0, mx = 0;
  for (let i = 0; i < b.length; i++) {
    md = Math.max(md, Math.abs(a[i] - b[i]));
    mx = Math.max(mx, Math.abs(b[i]));
  }
  return md / (mx || 1);
}

/**
 * The int8 tensor ids of `quant` mapped to the float tensor of `float` (its clone before quantization) they
 * carry: a node output keeps its id, a float->int8 cast's output carries the cast's input.
 */
function floatTensorOf(quant: Graph, float: Graph): (id: number) => number {
  const prod = quant.producers();
  return (id) => {
    const p = prod.get(id);
    return p?.op === 'QuantDTypeCast' && id >= float.tensors.length ? p.inputs[0] : id;
  };
}

/**
 * Builds the reference for `quant` (full-quantized from `float`, a clone taken before quantizing) over the ONNX
 * model `onnx`; `feeds` (ONNX layout) and `inputs` (ours) are one sample, used to find our tensors by value.
 */
export async function buildQdqReference(onnx: Uint8Array, float: Graph, quant: Graph, feeds: Record<string, ort.Tensor>, inputs: RT[]): Promise<QdqReference> {
  const m: any = ModelProto.decode(onnx);
  const graph = m.graph;
  const opset = Number((m.opset_import ?? []).find((o: any) => !o.domain)?.version ?? 13);
  const floatOf = floatTensorOf(quant, float);
  const computeNodes = quant.nodes.filter(isCompute);
  const wanted = new Set(computeNodes.flatMap((n) => [floatOf(n.inputs[0]), n.outputs[0]]));
  const ours = new Map<number, RT>();
  float.inputs.forEach((id, k) => wanted.has(id) && ours.set(id, inputs[k]));
  run(float, inputs, { observe: (id, v) => wanted.has(id) && ours.set(id, v) });

  // Every ONNX value on the same sample, to find ours among them.
  const values = await ortRunAll(m, feeds);
  const order = new Map<string, number>();
  graph.input.forEach((v: any) => order.set(v.name, -1));
  graph.node.forEach((n: any, i: number) => n.output.forEach((o: string) => order.set(o, i)));
  const locate = (id: number): Site => {
    const v = ours.get(id);
    if (!v) throw new Error(`tensor ${float.tensors[id].name} was not computed`);
    const nchw = v.shape.length === 4 ? toNchw(v) : undefined;
    const found: { site: Site; err: number; at: number }[] = [];
    for (const [name, t] of Object.entries(values)) {
      if (t.type !== 'float32' || t.data.length !== v.data.length) continue;
      for (const [data, isNchw] of [[v.data, false], [nchw, true]] as const) {
        const [n, h, w, c] = v.shape;
        if (!data || t.dims.join() !== (isNchw ? [n, c, h, w] : v.shape).join()) continue;
        const err = close(t.data as Float32Array, data);
        if (err < 1e-3) found.push({ site: { name, nchw: isNchw }, err, at: order.get(name) ?? Infinity });
      }
    }
    // Of the values equal to ours (to float rounding), the earliest: its readers include any later copy's.
    const tolerance = Math.max(1e-5, 10 * Math.min(...found.map((f) => f.err)));
    const best = found.filter((f) => f.err <= tolerance).sort((a, b) => a.at - b.at)[0]?.site;
    if (!best) throw new Error(`tensor ${float.tensors[id].name}: no ONNX value equals it`);
    return best;
  };

  const qdqDomain = opset >= 10 ? '' : 'com.microsoft';
  if (qdqDomain) m.opset_import.push({ domain: 'com.microsoft', version: 1 });
  const added: any[] = [], inits: any[] = [];
  let count = 0;
  const fresh = (base: string) => `${base}__qdq${count++}`;
  const floatInit = (name: string, data: Float32Array, dims: number[]) => {
    inits.push({ name, dims, data_type: 1, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const scalarParams = (q: QuantParam) => {
    const s = floatInit(fresh('scale'), Float32Array.of(q.scale), []);
    const z = fresh('zp');
    inits.push({ name: z, dims: [], data_type: 3, int32_data: [q.zeroPoint] });
    return [s, z];
  };
  const emit = (op: string, input: string[], attrs: any[] = [], domain = '', output = fresh(op)) => {
    added.push({ name: fresh(`${op}_node`), op_type: op, domain, input, output: [output], attribute: attrs });
    return output;
  };
  const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
  const transpose = (x: string, perm: number[]) => emit('Transpose', [x], [ints('perm', perm)]);
  /** Q then DQ of `x` with `q`: returns [the int8 tensor, the dequantized one]. */
  const qdq = (x: string, q: QuantParam, out?: string) => {
    const [s, z] = scalarParams(q);
    const qi = emit('QuantizeLinear', [x, s, z], [], qdqDomain);
    return [qi, emit('DequantizeLinear', [qi, s, z], [], qdqDomain, out)];
  };

  const renamed = new Map<string, string>(); // an output we replace -> the original's new name
  const nodes: QdqNode[] = [];
  for (const n of computeNodes) {
    const input = locate(floatOf(n.inputs[0])), output = locate(n.outputs[0]);
    if (output.name === input.name) throw new Error(`${n.name}: input and output are the same ONNX value`);
    const inQ = quant.tensors[n.inputs[0]].quant![0], outQ = quant.tensors[n.outputs[0]].quant![0];
    const [qIn, xq] = qdq(input.name, inQ);
    let y = n.op === 'Conv2DFusion' ? emitConv(n, input.nchw ? xq : transpose(xq, [0, 3, 1, 2])) : emitMatMul(n, xq, input);
    const act = (n.attrs.activation_type as number) ?? 0;
    if (act === ActivationType.RELU || act === ActivationType.RELU6) y = emit('Relu', [y]);
    if (act === ActivationType.RELU6) y = emit('Min', [y, floatInit(fresh('six'), Float32Array.of(6), [])]);
    else if (act && act !== ActivationType.RELU) throw new Error(`${n.name}: activation ${act} is not in the reference`);
    if (n.op === 'Conv2DFusion' && !output.nchw) y = transpose(y, [0, 2, 3, 1]);
    const original = `${output.name}__float`;
    renamed.set(output.name, original);
    const [qOut] = qdq(y, outQ, output.name);
    nodes.push({ node: n, input, output, inQ, outQ, qIn, qOut });
  }

  function emitConv(n: Node, x: string): string {
    const w = quant.tensors[n.inputs[1]], [oc, kh, kw, icg] = w.shape;
    const wd = new Float32Array(w.data!.length);
    // OHWI int8 -> OIHW float, each channel (q - zp) * scale
    for (let o = 0; o < oc; o++) {
      const p = w.quant![w.quant!.length > 1 ? o : 0];
      for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) for (let i = 0; i < icg; i++)
        wd[((o * icg + i) * kh + y) * kw + xx] = Math.fround((w.data![((o * kh + y) * kw + xx) * icg + i] - p.zeroPoint) * Math.fround(p.scale));
    }
    const inShape = ours.get(floatOf(n.inputs[0]))!.shape;
    const geo = convGeometry(n, inShape, w.shape);
    const ekh = (kh - 1) * geo.dh + 1, ekw = (kw - 1) * geo.dw + 1;
    const pads = [geo.padTop, geo.padLeft, Math.max(0, (geo.oh - 1) * geo.sh + ekh - geo.ih - geo.padTop), Math.max(0, (geo.ow - 1) * geo.sw + ekw - geo.iw - geo.padLeft)];
    if ((n.attrs.pad_mode as number) === PadMode.VALID) pads.fill(0);
    const inputsOf = [x, floatInit(fresh('w'), wd, [oc, icg, kh, kw])];
    const b = bias(n, oc);
    if (b) inputsOf.push(b);
    return emit('Conv', inputsOf, [ints('strides', [geo.sh, geo.sw]), ints('dilations', [geo.dh, geo.dw]), ints('pads', pads), { name: 'group', type: 2, i: geo.group },
      ints('kernel_shape', [kh, kw])]);
  }

  function emitMatMul(n: Node, x: string, input: Site): string {
    if (input.nchw) throw new Error(`${n.name}: a MatMul input held NCHW by ONNX is not in the reference`);
    const w = quant.tensors[n.inputs[1]];
    const rowsFirst = n.op === 'FullConnection' || !!n.attrs.transpose_b;
    const [N, K] = rowsFirst ? w.shape.slice(-2) : w.shape.slice(-2).reverse();
    const wd = new Float32Array(N * K); // [K, N] for MatMul
    for (let k = 0; k < K; k++)
      for (let c = 0; c < N; c++) {
        const p = w.quant![w.quant!.length > 1 ? c : 0];
        const q = rowsFirst ? w.data![c * K + k] : w.data![k * N + c];
        wd[k * N + c] = Math.fround((q - p.zeroPoint) * Math.fround(p.scale));
      }
    const inShape = ours.get(floatOf(n.inputs[0]))!.shape;
    if (inShape[inShape.length - 1] !== K) throw new Error(`${n.name}: an input [${inShape}] that is not [..., ${K}] is not in the reference`);
    const y = emit('MatMul', [x, floatInit(fresh('w'), wd, [K, N])]);
    const b = bias(n, N);
    return b ? emit('Add', [y, b]) : y;
  }

  function bias(n: Node, channels: number): string | undefined {
    if (n.inputs[2] === undefined) return undefined;
    const b = quant.tensors[n.inputs[2]];
    const d = Float32Array.from({ length: channels }, (_, c) => Math.fround(Number(b.data![c]) * Math.fround(b.quant![b.quant!.length > 1 ? c : 0].scale)));
    return floatInit(fresh('b'), d, [channels]);
  }

  // The original producers of replaced values write a dead copy; our re-expressed nodes take their names.
  for (const node of graph.node) node.output = node.output.map((o: string) => renamed.get(o) ?? o);
  graph.node = topoSort([...graph.node, ...added], new Set([...graph.input.map((v: any) => v.name), ...graph.initializer.map((t: any) => t.name), ...inits.map((t) => t.name)]));
  graph.initializer.push(...inits);
  const names = nodes.flatMap((q) => [q.qIn, q.qOut]);
  graph.output = [...graph.output.map((v: any) => ({ name: v.name })), ...names.map((name) => ({ name }))];
  graph.value_info = [];
  const model = ModelProto.encode(m).finish();
  // No graph optimizations: onnxruntime would fuse Q/DQ around Conv into its own integer kernels; the reference is the float math.
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  return { model, nodes, run: (f) => session.run(f) as Promise<Record<string, ort.Tensor>> };
}

/** The ONNX model run with every node output as a graph output. */
async function ortRunAll(m: any, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const copy: any = ModelProto.decode(ModelProto.encode(m).finish());
  const outs = new Set<string>(copy.graph.output.map((v: any) => v.name));
  for (const n of copy.graph.node) for (const o of n.output) if (o) outs.add(o);
  copy.graph.output = [...outs].map((name) => ({ name }));
  copy.graph.value_info = [];
  const s = await ort.InferenceSession.create(ModelProto.encode(copy).finish(), { logSeverityLevel: 3 });
  const res = await s.run(feeds);
  const all = { ...feeds, ...res };
  await s.release();
  return all;
}

/** Nodes in an order where each input is produced before it is read (Kahn; `known` are graph inputs and constants). */
function topoSort(nodes: any[], known: Set<string>): any[] {
  const producer = new Map<string, any>();
  for (const n of nodes) for (const o of n.output) if (o) producer.set(o, n);
  const done = new Set<any>(), out: any[] = [];
  const visit = (n: any) => {
    if (done.has(n)) return;
    done.add(n);
    for (const i of n.input) if (i && !known.has(i) && producer.has(i)) visit(producer.get(i));
    out.push(n);
  };
  for (const n of nodes) visit(n);
  return out;
}

/**
 * How our int8 kernel compares with the reference's on the reference's own int8 input: the elements that
 * differ, the largest difference in steps, and the differences that MindSpore's rounding does not explain.
 * The runtime's fixed point rounds twice (SaturatingRoundingDoublingHighMul keeps `rightShift` fraction bits,
 * RoundingDivideByPOT rounds those), so where the exact value lies within 2^-(rightShift + 1) of a half step it
 * may land one step from the float reference's rounding; onnxruntime's float sums move it by ~1e-5 step.
 */
export interface LocalCheck { node: string; elements: number; differing: number; maxSteps: number; unexplained: number }

/** Each int8 compute node of ours run on the reference's int8 input and compared with the reference's int8 output. */
export function localChecks(ref: QdqReference, quant: Graph, got: Record<string, ort.Tensor>): LocalCheck[] {
  return ref.nodes.map((q) => {
    const tIn = got[q.qIn], tOut = got[q.qOut];
    const asOurs = (t: ort.Tensor, nchw: boolean) => (nchw ? nchwToNhwc(t.data as Int8Array, t.dims) : (t.data as Int8Array));
    const inShape = q.input.nchw ? [tIn.dims[0], tIn.dims[2], tIn.dims[3], tIn.dims[1]] : [...tIn.dims];
    const ins: RT[] = q.node.inputs.map((id, k) => (k === 0 ? { shape: inShape, data: asOurs(tIn, q.input.nchw) } : { shape: quant.tensors[id].shape, data: quant.tensors[id].data! }));
    const [y] = runNode(q.node, ins, quant);
    const { sums, channels, r } = int8Sums(q.node, ins, quant);
    const wQ = quant.tensors[q.node.inputs[1]].quant!;
    const real = Array.from({ length: channels }, (_, c) => (q.inQ.scale * wQ[wQ.length > 1 ? c : 0].scale) / q.outQ.scale);
    const want = asOurs(tOut, q.node.op === 'Conv2DFusion' ? q.output.nchw : false);
    let differing = 0, maxSteps = 0, unexplained = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(y.data[i] - want[i]);
      if (!d) continue;
      differing++;
      maxSteps = Math.max(maxSteps, d);
      const c = i % channels, v = sums[i] * real[c];
      const fromHalf = Math.abs(v - Math.floor(v) - 0.5);
      if (d > 1 || fromHalf > 2 ** -(r.mults[c].rightShift + 1) + 1e-3) unexplained++;
    }
    return { node: q.node.name, elements: want.length, differing, maxSteps, unexplained };
  });
}
