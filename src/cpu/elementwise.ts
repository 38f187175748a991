/** Broadcasting binary ops, unary math, Activation, PReLU, Scale. */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { RT, f32, size, broadcastShape, broadcastStrides } from './tensor.js';
import { activationFn, applyActivation } from './activation.js';

type Bin = (a: number, b: number) => number;
const BINARY: Record<string, Bin> = {
  AddFusion: (a, b) => a + b,
  SubFusion: (a, b) => a - b,
  MulFusion: (a, b) => a * b,
  DivFusion: (a, b) => a / b,
  Maximum: (a, b) => (a > b ? a : b),
  Minimum: (a, b) => (a < b ? a : b),
  PowFusion: (a, b) => Math.pow(a, b),
};

export function binary(node: Node, ins: RT[]): RT[] {
  const f = BINARY[node.op];
  let [x, y] = ins;
  if (node.op === 'PowFusion') {
    const scale = (node.attrs.scale as number) ?? 1, shift = (node.attrs.shift as number) ?? 0;
    if (scale !== 1 || shift !== 0) x = { shape: x.shape, data: (x.data as Float32Array).map((v) => v * scale + shift) };
  }
  const outShape = broadcastShape(x.shape, y.shape, `${node.op} ${node.name}`);
  const isInt = x.data instanceof Int32Array && y.data instanceof Int32Array;
  const n = size(outShape);
  const od = isInt ? new Int32Array(n) : new Float32Array(n);
  const xd = x.data, yd = y.data;
  if (size(x.shape) === n && size(y.shape) === n) {
    for (let i = 0; i < n; i++) od[i] = f(xd[i], yd[i]);
  } else if (size(y.shape) === 1) {
    const c = yd[0];
    const xs = broadcastStrides(x.shape, outShape);
    if (size(x.shape) === n) for (let i = 0; i < n; i++) od[i] = f(xd[i], c);
    else walk(outShape, xs, xs.map(() => 0), (i, a) => (od[i] = f(xd[a], c)));
  } else {
    walk(outShape, broadcastStrides(x.shape, outShape), broadcastStrides(y.shape, outShape), (i, a, b) => (od[i] = f(xd[a], yd[b])));
  }
  if (!isInt) applyActivation(od as Float32Array, (node.attrs.activation_type as number) ?? 0);
  if (isInt && node.op === 'DivFusion') for (let i = 0; i < n; i++) od[i] = Math.trunc(od[i]);
  return [{ shape: outShape, data: od }];
}

/** Visits every output index with the matching flat offsets into two broadcast inputs. */
function walk(shape: number[], sa: number[], sb: number[], fn: (i: number, a: number, b: number) => void): void {
  const rank = shape.length;
  const n = size(shape);
  const idx = new Array(rank).fill(0);
  let a = 0, b = 0;
  for (let i = 0; i < n; i++) {
    fn(i, a, b);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      a += sa[d];
      b += sb[d];
      if (idx[d] < shape[d]) break;
      a -= sa[d] * shape[d];
      b -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

const UNARY: Record<string, (x: number) => number> = {
  Abs: Math.abs, Neg: (x) => -x, Sqrt: Math.sqrt, Exp: Math.exp, Floor: Math.floor, Ceil: Math.ceil,
  Log: Math.log, Rsqrt: (x) => 1 / Math.sqrt(x), Reciprocal: (x) => 1 / x, Square: (x) => x * x,
};

export function unary(node: Node, [x]: RT[]): RT[] {
  let f = UNARY[node.op];
  if (node.op === 'ExpFusion') {
    const base = (node.attrs.base as number) ?? -1, scale = (node.attrs.scale as number) ?? 1, shift = (node.attrs.shift as number) ?? 0;
    const lnBase = base === -1 ? 1 : Math.log(base);
    f = (v) => Math.exp((scale * v + shift) * lnBase);
  } else if (node.op === 'Activation') {
    const a = node.attrs;
    const fn = activationFn(a.activation_type as number, a.alpha as number, a.min_val as number, a.max_val as number);
    f = fn ?? ((v) => v);
  } else if (node.op === 'LeakyRelu') {
    const s = node.attrs.negative_slope as number;
    f = (v) => (v > 0 ? v : v * s);
  } else if (node.op === 'Clip') {
    const lo = node.attrs.min as number, hi = node.attrs.max as number;
    f = (v) => (v < lo ? lo : v > hi ? hi : v);
  }
  if (!f) throw new UserError(`unsupported op ${node.op} (node ${node.name})`);
  const xd = x.data as Float32Array;
  const od = new Float32Array(xd.length);
  for (let i = 0; i < xd.length; i++) od[i] = f(xd[i]);
  return [{ shape: x.shape, data: od }];
}

/** PReLU over the last (channel) axis of NHWC data, or one shared slope. */
export function prelu(_node: Node, [x, slope]: RT[]): RT[] {
  const xd = x.data as Float32Array, sd = slope.data as Float32Array;
  const od = new Float32Array(xd.length);
  const c = sd.length;
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    od[i] = v > 0 ? v : v * sd[c === 1 ? 0 : i % c];
  }
  return [{ shape: x.shape, data: od }];
}

/** ScaleFusion: x * scale + bias with scale/bias along `axis` (BatchNorm that could not be folded). */
export function scale(node: Node, [x, s, b]: RT[]): RT[] {
  const rank = x.shape.length;
  let axis = (node.attrs.axis as number) ?? -1;
  if (axis < 0) axis += rank;
  const inner = size(x.shape.slice(axis + s.shape.length));
  const c = size(s.shape);
  const xd = x.data as Float32Array, sd = s.data as Float32Array, bd = b?.data as Float32Array | undefined;
  const out = f32(x.shape);
  const od = out.data as Float32Array;
  for (let i = 0; i < xd.length; i++) {
    const ch = Math.floor(i / inner) % c;
    od[i] = xd[i] * sd[ch] + (bd ? bd[ch] : 0);
  }
  applyActivation(od, (node.attrs.activation_type as number) ?? 0);
  return [out];
}

/** Inference BatchNorm on the channel-last axis: inputs x, scale, bias, mean, var (ONNX order). */
export function batchNorm(node: Node, [x, s, b, mean, v]: RT[]): RT[] {
  const eps = (node.attrs.epsilon as number) ?? 1e-5;
  const c = x.shape[x.shape.length - 1];
  const xd = x.data as Float32Array;
  const od = new Float32Array(xd.length);
  const k = new Float64Array(c), o = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    k[i] = s.data[i] / Math.sqrt(v.data[i] + eps);
    o[i] = b.data[i] - mean.data[i] * k[i];
  }
  for (let i = 0; i < xd.length; i++) od[i] = xd[i] * k[i % c] + o[i % c];
  return [{ shape: x.shape, data: od }];
}
