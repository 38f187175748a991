/** ReduceFusion and Softmax. */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { ReduceMode } from '../ir/schema/ops.js';
import { RT, size, normAxis } from '../ir/tensor.js';
import { reduceAxes, reduceShape, softmaxAxis } from '../ir/op-params.js';
import { usesRuntimeMath } from './activation.js';
import { nnaclSoftmaxRow } from './nnacl-math.js';

export function reduce(node: Node, [x, axesT]: RT[]): RT[] {
  const rank = x.shape.length;
  const a = node.attrs;
  const axes = reduceAxes(node, rank, axesT);
  const mode = a.mode as number;
  const outFull = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = size(outFull);
  const acc = new Float64Array(n).fill(mode === ReduceMode.Max ? -Infinity : mode === ReduceMode.Min ? Infinity : mode === ReduceMode.Prod ? 1 : 0);
  const xd = x.data;
  const idx = new Array(rank).fill(0);
  const oStr = outFull.map((_, i) => size(outFull.slice(i + 1)));
  let o = 0;
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    switch (mode) {
      case ReduceMode.Mean: case ReduceMode.Sum: acc[o] += v; break;
      case ReduceMode.Max: if (v > acc[o]) acc[o] = v; break;
      case ReduceMode.Min: if (v < acc[o]) acc[o] = v; break;
      case ReduceMode.Prod: acc[o] *= v; break;
      case ReduceMode.SumSquare: case ReduceMode.L2: acc[o] += v * v; break;
      case ReduceMode.ASum: acc[o] += Math.abs(v); break;
      default: throw new UserError(`ReduceFusion ${node.name}: unsupported mode ${mode}`);
    }
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      if (outFull[d] !== 1) o += oStr[d];
      if (idx[d] < x.shape[d]) break;
      if (outFull[d] !== 1) o -= oStr[d] * x.shape[d];
      idx[d] = 0;
    }
  }
  const count = size(x.shape) / n;
  const coeff = (a.coeff as number) || 1;
  const od = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = acc[i];
    if (mode === ReduceMode.Mean) v /= count;
    if (mode === ReduceMode.L2) v = Math.sqrt(v);
    od[i] = v * coeff;
  }
  return [{ shape: reduceShape(node, x.shape, axes), data: od }];
}

/** Softmax along `axis`, or its logarithm (LogSoftmax, computed as x - max - log(sum exp) for stability). */
export function softmaxAlong(x: RT, axis: number, log: boolean): RT {
  const inner = size(x.shape.slice(axis + 1));
  const len = x.shape[axis];
  const outer = size(x.shape.slice(0, axis));
  const xd = x.data as Float32Array;
  const od = new Float32Array(xd.length);
  if (usesRuntimeMath() && !log) {
    runtimeSoftmax(xd, outer, len, inner, od);
    return { shape: x.shape, data: od };
  }
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let m = -Infinity;
      for (let k = 0; k < len; k++) m = Math.max(m, xd[base + k * inner]);
      let s = 0;
      for (let k = 0; k < len; k++) s += Math.exp(xd[base + k * inner] - m);
      const ls = Math.log(s);
      for (let k = 0; k < len; k++) od[base + k * inner] = log ? xd[base + k * inner] - m - ls : Math.exp(xd[base + k * inner] - m) / s;
    }
  return { shape: x.shape, data: od };
}

/**
 * Softmax as the runtime computes it: over the last axis with nnacl's exp (nnacl-math's row), over another axis
 * with libm's expf (correctly rounded here), a float sum and a division.
 */
function runtimeSoftmax(xd: Float32Array, outer: number, len: number, inner: number, od: Float32Array): void {
  const f = Math.fround;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) nnaclSoftmaxRow(xd, o * len, len, od);
    return;
  }
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let m = xd[base], s = 0;
      for (let k = 1; k < len; k++) m = Math.max(m, xd[base + k * inner]);
      for (let k = 0; k < len; k++) {
        const e = f(Math.exp(f(xd[base + k * inner] - m)));
        od[base + k * inner] = e;
        s = f(s + e);
      }
      for (let k = 0; k < len; k++) od[base + k * inner] = f(od[base + k * inner] / s);
    }
}

export function softmax(node: Node, [x]: RT[]): RT[] {
  return [softmaxAlong(x, softmaxAxis(node, x.shape.length), false)];
}

export function logSoftmax(node: Node, [x]: RT[]): RT[] {
  return [softmaxAlong(x, normAxis((node.attrs.axis as number) ?? -1, x.shape.length), true)];
}
