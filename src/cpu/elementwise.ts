/** Elementwise kernels: broadcasting binary ops, unary maps, PReLU, Scale, BatchNorm. */
import type { Node } from '../ir/graph.js';
import { RT, RTData, size, broadcastShape, broadcastStrides } from '../ir/tensor.js';
import { scaleParams } from '../ir/op-params.js';
import { applyActivation } from './activation.js';
import { outputFloats } from './recycle.js';

export type Bin = (a: number, b: number) => number;

type F32 = Float32Array;
type Loop = (o: F32, a: F32, b: F32, n: number, c: number) => void;

/**
 * Float32 loops for the common arithmetic, one function literal per op and broadcast form: a loop that calls
 * `f` through a shared closure cannot be inlined once several ops use it, and runs several times slower.
 * `same`: equal shapes; `scalar`: b has one value; `rows`: b repeats every c values (a channel vector).
 */
const FAST: Record<string, { same: Loop; scalar: Loop; rows: Loop }> = {
  add: {
    same: (o, a, b, n) => { for (let i = 0; i < n; i++) o[i] = a[i] + b[i]; },
    scalar: (o, a, b, n) => { const v = b[0]; for (let i = 0; i < n; i++) o[i] = a[i] + v; },
    rows: (o, a, b, n, c) => { for (let i = 0; i < n; i += c) for (let j = 0; j < c; j++) o[i + j] = a[i + j] + b[j]; },
  },
  sub: {
    same: (o, a, b, n) => { for (let i = 0; i < n; i++) o[i] = a[i] - b[i]; },
    scalar: (o, a, b, n) => { const v = b[0]; for (let i = 0; i < n; i++) o[i] = a[i] - v; },
    rows: (o, a, b, n, c) => { for (let i = 0; i < n; i += c) for (let j = 0; j < c; j++) o[i + j] = a[i + j] - b[j]; },
  },
  mul: {
    same: (o, a, b, n) => { for (let i = 0; i < n; i++) o[i] = a[i] * b[i]; },
    scalar: (o, a, b, n) => { const v = b[0]; for (let i = 0; i < n; i++) o[i] = a[i] * v; },
    rows: (o, a, b, n, c) => { for (let i = 0; i < n; i += c) for (let j = 0; j < c; j++) o[i + j] = a[i + j] * b[j]; },
  },
  div: {
    same: (o, a, b, n) => { for (let i = 0; i < n; i++) o[i] = a[i] / b[i]; },
    scalar: (o, a, b, n) => { const v = b[0]; for (let i = 0; i < n; i++) o[i] = a[i] / v; },
    rows: (o, a, b, n, c) => { for (let i = 0; i < n; i += c) for (let j = 0; j < c; j++) o[i + j] = a[i + j] / b[j]; },
  },
};
const COMMUTATIVE = new Set(['add', 'mul']);

/** The loop for a float32 `kind` op on these shapes, with the operands in the order it takes them. */
function fastLoop(kind: string | undefined, x: RT, y: RT, n: number): ((o: F32) => void) | undefined {
  const ops = kind && FAST[kind];
  if (!ops || !(x.data instanceof Float32Array) || !(y.data instanceof Float32Array)) return undefined;
  const plan = (a: RT, b: RT): ((o: F32) => void) | undefined => {
    if (a.data.length !== n) return undefined;
    const bn = b.data.length, last = a.shape[a.shape.length - 1];
    if (bn === n) return (o) => ops.same(o, a.data as F32, b.data as F32, n, 0);
    if (bn === 1) return (o) => ops.scalar(o, a.data as F32, b.data as F32, n, 0);
    // b broadcast along everything but the last axis (a per-channel constant on NHWC data)
    if (bn === last && b.shape[b.shape.length - 1] === last) return (o) => ops.rows(o, a.data as F32, b.data as F32, n, last);
    return undefined;
  };
  return plan(x, y) ?? (COMMUTATIVE.has(kind!) ? plan(y, x) : undefined);
}

/**
 * Broadcasting binary kernel for `f` (the float32 loops of `kind` where they apply), then the fused
 * activation. Integer inputs on both sides stay integer (shape arithmetic); PowFusion's `scale`/`shift` are
 * applied to the base first.
 */
export function broadcastBinary(f: Bin, kind?: string) {
  return (node: Node, ins: RT[]): RT[] => {
    const y = ins[1];
    let x = ins[0];
    if (node.op === 'PowFusion') {
      const scale = (node.attrs.scale as number) ?? 1, shift = (node.attrs.shift as number) ?? 0;
      if (scale !== 1 || shift !== 0) x = { shape: x.shape, data: (x.data as Float32Array).map((v) => v * scale + shift) };
    }
    const outShape = broadcastShape(x.shape, y.shape, `${node.op} ${node.name}`);
    const isInt = x.data instanceof Int32Array && y.data instanceof Int32Array;
    const n = size(outShape);
    const od = isInt ? new Int32Array(n) : outputFloats(n);
    const xd = x.data, yd = y.data;
    const fast = isInt ? undefined : fastLoop(kind, x, y, n);
    if (fast) fast(od as Float32Array);
    else if (size(x.shape) === n && size(y.shape) === n) {
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
  };
}

/**
 * Broadcasting over any number of inputs: out[i] = f(x0[...], x1[...], ...) with numpy broadcasting, into an
 * array made by `make` (Uint8Array for booleans, Float32Array, ...).
 */
export function broadcastMap(ins: RT[], f: (...v: number[]) => number, make: (n: number) => RTData, where: string): RT {
  const outShape = ins.map((t) => t.shape).reduce((a, b) => broadcastShape(a, b, where));
  const n = size(outShape);
  const od = make(n);
  const rank = outShape.length;
  const strides = ins.map((t) => broadcastStrides(t.shape, outShape));
  const offs = new Array(ins.length).fill(0);
  const idx = new Array(rank).fill(0);
  const vals = new Array(ins.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ins.length; k++) vals[k] = ins[k].data[offs[k]];
    od[i] = f(...vals);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < ins.length; k++) offs[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < ins.length; k++) offs[k] -= strides[k][d] * outShape[d];
      idx[d] = 0;
    }
  }
  return { shape: outShape, data: od };
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

/** Elementwise kernel applying `f` to every value (float32 out; int32 kept with `keepIntegers`, for Neg and Abs). */
export function mapUnary(f: (x: number) => number, keepIntegers = false) {
  return (_node: Node, [x]: RT[]): RT[] => {
    const xd = x.data;
    const od = keepIntegers && xd instanceof Int32Array ? new Int32Array(xd.length) : outputFloats(xd.length);
    for (let i = 0; i < xd.length; i++) od[i] = f(xd[i]);
    return [{ shape: x.shape, data: od }];
  };
}

/** Elementwise kernel whose function depends on the node's attributes. */
export function mapUnaryWith(fnOf: (node: Node) => (x: number) => number) {
  return (node: Node, ins: RT[]): RT[] => mapUnary(fnOf(node))(node, ins);
}

/** PReLU over the last (channel) axis of NHWC data, or one shared slope. */
export function prelu(_node: Node, [x, slope]: RT[]): RT[] {
  const xd = x.data as Float32Array, sd = slope.data as Float32Array;
  const od = outputFloats(xd.length);
  const c = sd.length;
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    od[i] = v > 0 ? v : v * sd[c === 1 ? 0 : i % c];
  }
  return [{ shape: x.shape, data: od }];
}

/** ScaleFusion: x * scale + bias with scale/bias along `axis` (BatchNorm that could not be folded). */
export function scale(node: Node, [x, s, b]: RT[]): RT[] {
  const { inner, channels: c } = scaleParams(node, x.shape, s.shape);
  const xd = x.data as Float32Array, sd = s.data as Float32Array, bd = b?.data as Float32Array | undefined;
  const od = outputFloats(xd.length);
  const out = { shape: x.shape, data: od };
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
  const od = outputFloats(xd.length);
  const k = new Float64Array(c), o = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    k[i] = s.data[i] / Math.sqrt(v.data[i] + eps);
    o[i] = b.data[i] - mean.data[i] * k[i];
  }
  for (let i = 0; i < xd.length; i++) od[i] = xd[i] * k[i % c] + o[i % c];
  return [{ shape: x.shape, data: od }];
}
