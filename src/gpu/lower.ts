/**
 * Lowers each graph node to GPU steps (WGSL kernel + which tensors it reads and writes), using the shapes of
 * the batch being run. Reshape-like ops become buffer aliases, Concat and Split one copy per part.
 */
import type { Graph, Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import * as K from '../shaders/kernels.js';
import { convGeometry, deconvGeometry } from '../cpu/conv.js';
import { poolGeometry } from '../cpu/pool.js';
import { sliceParams } from '../cpu/shape-ops.js';
import { ints, normAxis, size } from '../cpu/tensor.js';
import type { RT } from '../cpu/tensor.js';
import { ActivationType as A } from '../ir/schema/ops.js';

export interface Step {
  label: string;
  kernel: K.Kernel;
  /** Tensor ids bound in order as in0, in1, ... */
  inputs: number[];
  output: number;
}

export type Lowered = { steps: Step[] } | { alias: number };

const ALIAS_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'ExpandDims']);
const BINARY: Record<string, K.BinaryOp> = {
  AddFusion: 'add', SubFusion: 'sub', MulFusion: 'mul', DivFusion: 'div', Maximum: 'max', Minimum: 'min', PowFusion: 'pow',
};
const UNARY: Record<string, string> = {
  Sqrt: 'sqrt(x)', Abs: 'abs(x)', Neg: '-x', Exp: 'exp(x)',
};

/** Baked constants (perms, axes, pads, indices) come from constant tensors. */
function constOf(g: Graph, id: number | undefined, node: Node, what: string): RT {
  const t = id !== undefined && id >= 0 ? g.tensors[id] : undefined;
  if (!t?.data) throw new UserError(`${node.op} ${node.name}: ${what} must be a constant to run on the GPU`);
  return { shape: t.shape, data: t.data };
}

export function lowerNode(g: Graph, node: Node, shapeOf: (id: number) => number[]): Lowered {
  const a = node.attrs;
  const inS = (k: number) => shapeOf(node.inputs[k]);
  const out = node.outputs[0];
  const outShape = shapeOf(out);
  const act = (a.activation_type as number) ?? 0;
  const one = (kernel: K.Kernel, inputs: number[]): Lowered => ({ steps: [{ label: node.name, kernel, inputs, output: out }] });
  const data = node.inputs[0];

  if (ALIAS_OPS.has(node.op)) return { alias: data };
  switch (node.op) {
    case 'Conv2DFusion': {
      const geo = convGeometry(node, inS(0), inS(1));
      const hasBias = node.inputs.length > 2;
      const dw = geo.group === geo.ic && geo.group === geo.oc && geo.ic / geo.group === 1 && geo.group > 1;
      return one(dw ? K.depthwise(geo, hasBias, act) : K.convGemm(geo, hasBias, act), node.inputs);
    }
    case 'Conv2dTransposeFusion':
      return one(K.deconv(deconvGeometry(node, inS(0), inS(1)), node.inputs.length > 2, act), node.inputs);
    case 'FullConnection': {
      const [outC, inC] = inS(1);
      return one(K.fullConnection(size(inS(0)) / inC, inC, outC, node.inputs.length > 2, act), node.inputs);
    }
    case 'MatMulFusion': {
      let as = inS(0), bs = inS(1);
      if (as.length === 1) as = [1, as[0]];
      if (bs.length === 1) bs = [bs[0], 1];
      const ta = !!a.transpose_a, tb = !!a.transpose_b;
      const M = ta ? as[as.length - 1] : as[as.length - 2], Kd = ta ? as[as.length - 2] : as[as.length - 1];
      const N = tb ? bs[bs.length - 2] : bs[bs.length - 1];
      const aB = as.slice(0, -2), bB = bs.slice(0, -2);
      const r = Math.max(aB.length, bB.length);
      const batch = [...Array(r).keys()].map((k) => Math.max(aB[aB.length - r + k] ?? 1, bB[bB.length - r + k] ?? 1));
      const bias = node.inputs.length > 2 ? size(inS(2)) : 0;
      return one(K.matMul({ batch, aBatch: aB, bBatch: bB, M, N, K: Kd, transA: ta, transB: tb }, bias > 0, bias, act), node.inputs);
    }
    case 'PowFusion':
      return one(K.binary('pow', inS(0), inS(1), outShape, act, (a.scale as number) ?? 1, (a.shift as number) ?? 0), node.inputs.slice(0, 2));
    case 'Activation':
      return one(K.unary(size(outShape), 'act(x)', a.activation_type as number, a.alpha as number, a.min_val as number, a.max_val as number), [data]);
    case 'LeakyRelu':
      return one(K.unary(size(outShape), 'act(x)', A.LEAKY_RELU, a.negative_slope as number), [data]);
    case 'Clip':
      return one(K.unary(size(outShape), 'act(x)', A.HARD_TANH, 0, a.min as number, a.max as number), [data]);
    case 'ExpFusion': {
      const base = (a.base as number) ?? -1, scale = (a.scale as number) ?? 1, shift = (a.shift as number) ?? 0;
      const ln = base === -1 ? 1 : Math.log(base);
      return one(K.unary(size(outShape), `exp((x * ${K.fl(scale)} + ${K.fl(shift)}) * ${K.fl(ln)})`), [data]);
    }
    case 'PReLUFusion': {
      const s = inS(0);
      const c = size(inS(1));
      return one(K.channelAffine(size(s), 1, c, 'prelu', false, 0), node.inputs);
    }
    case 'ScaleFusion': {
      const s = inS(0);
      let axis = (a.axis as number) ?? -1;
      if (axis < 0) axis += s.length;
      const c = size(inS(1));
      const inner = size(s.slice(axis + inS(1).length));
      return one(K.channelAffine(size(s), inner, c, 'scale', node.inputs.length > 2, act), node.inputs);
    }
    case 'MaxPoolFusion':
    case 'AvgPoolFusion':
      return one(K.pool(poolGeometry(node, inS(0)), node.op === 'MaxPoolFusion', act), [data]);
    case 'ReduceFusion': {
      const s = inS(0);
      let axes = ints(constOf(g, node.inputs[1], node, 'axes')).map((v) => normAxis(v, s.length));
      if (a.reduce_to_end && axes.length) axes = [...Array(s.length - axes[0]).keys()].map((k) => k + axes[0]);
      if (!axes.length) axes = [...s.keys()];
      return one(K.reduce(s, axes, a.mode as number, a.coeff as number), [data]);
    }
    case 'Softmax': {
      const s = inS(0);
      const axis = normAxis(((a.axis as number[]) ?? [-1])[0], s.length);
      return one(K.softmax(size(s.slice(0, axis)), s[axis], size(s.slice(axis + 1))), [data]);
    }
    case 'Transpose': {
      const perm = ints(constOf(g, node.inputs[1], node, 'perm'));
      return one(K.gatherBy(outShape, K.transposeSource(inS(0), perm)), [data]);
    }
    case 'StridedSlice': {
      const params = node.inputs.slice(1).map((id) => constOf(g, id, node, 'slice parameters'));
      const p = sliceParams(node, inS(0), params);
      return one(K.gatherBy(p.shape, K.boxSource(inS(0), p.begin, p.step)), [data]);
    }
    case 'SliceFusion': {
      const begin = ints(constOf(g, node.inputs[1], node, 'begin'));
      return one(K.gatherBy(outShape, K.boxSource(inS(0), begin, begin.map(() => 1))), [data]);
    }
    case 'Gather': {
      const s = inS(0);
      const axisT = node.inputs[2] !== undefined ? ints(constOf(g, node.inputs[2], node, 'axis'))[0] : ((a.axis as number) ?? 0);
      const axis = normAxis(axisT, s.length);
      const idx = ints(constOf(g, node.inputs[1], node, 'indices')).map((v) => (v < 0 ? v + s[axis] : v));
      const idxShape = inS(1);
      const st = K.strides(s), ist = K.strides(idxShape);
      // Output coordinates are [dims before axis, index dims, dims after axis].
      const flat = idxShape.length ? idxShape.map((_, k) => `c${axis + k} * ${ist[k]}u`).join(' + ') : '0u';
      const terms = s.map((_, k) =>
        k < axis ? `i32(c${k}) * ${st[k]}i` : k === axis ? `idx_table[${flat}] * ${st[k]}i` : `i32(c${k - 1 + idxShape.length}) * ${st[k]}i`);
      const table = `const idx_table = array<i32, ${Math.max(idx.length, 1)}>(${(idx.length ? idx : [0]).map((v) => `${v}i`).join(', ')});`;
      return one(K.gatherBy(outShape, terms.join(' + '), 0, '', table), [data]);
    }
    case 'PadFusion': {
      const pads = node.inputs[1] !== undefined ? ints(constOf(g, node.inputs[1], node, 'paddings')) : ((a.paddings as number[][]) ?? []).flat();
      const value = node.inputs[2] !== undefined ? constOf(g, node.inputs[2], node, 'value').data[0] : ((a.constant_value as number) ?? 0);
      return one(K.pad(inS(0), outShape, pads, (a.padding_mode as number) ?? 0, value), [data]);
    }
    case 'Resize': {
      const [n, ih, iw, c] = inS(0);
      const [, oh, ow] = outShape;
      return one(K.resize(n, ih, iw, c, oh, ow, a.method as number, (a.coordinate_transform_mode as number) ?? 0), [data]);
    }
    case 'Concat': {
      const axis = normAxis((a.axis as number) ?? 0, outShape.length);
      let off = 0;
      const steps: Step[] = [];
      node.inputs.forEach((id, k) => {
        const s = shapeOf(id);
        if (!size(s)) return;
        steps.push({ label: `${node.name}#${k}`, kernel: K.concatPart(s, outShape, axis, off), inputs: [id], output: out });
        off += s[axis];
      });
      return { steps };
    }
    case 'Split': {
      const s = inS(0);
      const axis = normAxis((a.axis as number) ?? 0, s.length);
      let off = 0;
      return {
        steps: node.outputs.map((o, k) => {
          const os = shapeOf(o);
          const begin = s.map((_, d) => (d === axis ? off : 0));
          off += os[axis];
          return { label: `${node.name}#${k}`, kernel: K.gatherBy(os, K.boxSource(s, begin, s.map(() => 1))), inputs: [data], output: o };
        }),
      };
    }
  }
  if (BINARY[node.op]) return one(K.binary(BINARY[node.op], inS(0), inS(1), outShape, act), node.inputs.slice(0, 2));
  if (UNARY[node.op]) return one(K.unary(size(outShape), UNARY[node.op]), [data]);
  throw new UserError(`op ${node.op} (node ${node.name}) has no GPU kernel`);
}
