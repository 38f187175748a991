/** Ops that move data without arithmetic: reshape family, transpose, concat, slicing, gather, pad, shape. */
import type { Node } from '../ir/graph.js';
import { TypeId } from '../ir/schema/ops.js';
import { UserError } from '../ir/graph.js';
import { RT, RTData, size, strides, normAxis, permute } from '../ir/tensor.js';
import { ints, sliceParams, sliceFusionBox, reshapeTarget, splitSizes, gatherParams, padParams } from '../ir/op-params.js';

const like = (t: RT, n: number): RTData => new (t.data.constructor as Float32ArrayConstructor)(n) as RTData;

export function reshape(node: Node, [x, shapeT]: RT[]): RT[] {
  const want = shapeT ? ints(shapeT) : ((node.attrs.shape as number[]) ?? []);
  return [{ shape: reshapeTarget(node, x.shape, want), data: x.data }];
}

export function flatten(node: Node, [x]: RT[]): RT[] {
  const axis = normAxis((node.attrs.axis as number) ?? 1, x.shape.length);
  return [{ shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))], data: x.data }];
}

export function squeeze(node: Node, [x, axesT]: RT[]): RT[] {
  const r = x.shape.length;
  const axes = (axesT ? ints(axesT) : ((node.attrs.axis as number[]) ?? [])).map((a) => normAxis(a, r));
  const shape = x.shape.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1));
  return [{ shape, data: x.data }];
}

export function unsqueeze(node: Node, [x, axesT]: RT[]): RT[] {
  const axes = axesT ? ints(axesT) : ((node.attrs.axis as number[]) ?? []);
  const r = x.shape.length + axes.length;
  const norm = axes.map((a) => normAxis(a, r)).sort((a, b) => a - b);
  const shape = [...x.shape];
  for (const a of norm) shape.splice(a, 0, 1);
  return [{ shape, data: x.data }];
}

export function transpose(node: Node, [x, permT]: RT[]): RT[] {
  const perm = ints(permT);
  if (perm.length !== x.shape.length) throw new UserError(`Transpose ${node.name}: perm [${perm}] does not fit input [${x.shape}]`);
  return [permute(x, perm)];
}

/** Copies `count` values of an input from `from` to `to` (a caller may transform them on the way). */
export type CopyRun = (dst: RTData, src: RTData, from: number, count: number, to: number) => void;
const plainCopy: CopyRun = (dst, src, from, count, to) => {
  // a short run (a detection head's two or four values per box) is copied faster than a subarray is made
  if (count <= 16) for (let i = 0; i < count; i++) dst[to + i] = src[from + i];
  else dst.set(src.subarray(from, from + count), to);
};

export function concat(node: Node, ins: RT[], copyRun: CopyRun = plainCopy): RT[] {
  const parts = ins.filter((t) => size(t.shape) > 0 || t.shape.length === ins[0].shape.length);
  const r = parts[0].shape.length;
  const axis = normAxis((node.attrs.axis as number) ?? 0, r);
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((s, t) => s + (t.shape[axis] ?? 1), 0);
  const outer = size(shape.slice(0, axis));
  const inner = size(shape.slice(axis + 1));
  const data = like(parts[0], size(shape));
  let off = 0;
  for (const t of parts) {
    const chunk = (t.shape[axis] ?? 1) * inner;
    for (let o = 0; o < outer; o++) copyRun(data, t.data, o * chunk, chunk, o * shape[axis] * inner + off);
    off += chunk;
  }
  return [{ shape, data }];
}

/** Generic strided gather of a box: begin/step per dim, output shape given. */
function sliceBox(x: RT, begin: number[], step: number[], shape: number[]): RT {
  const n = size(shape);
  const data = like(x, n);
  const r = shape.length;
  if (n === 0 || r === 0) {
    if (n) data[0] = x.data[0];
    return { shape, data };
  }
  const xs = strides(x.shape);
  // one output row (the innermost dim) at a time: its start located once, then a strided run
  const len = shape[r - 1], innerStep = step[r - 1] * xs[r - 1], innerBegin = begin[r - 1] * xs[r - 1];
  const idx = new Array(r - 1).fill(0);
  for (let row = 0; row < n; row += len) {
    let src = innerBegin;
    for (let d = 0; d < r - 1; d++) src += (begin[d] + idx[d] * step[d]) * xs[d];
    for (let j = 0; j < len; j++, src += innerStep) data[row + j] = x.data[src];
    for (let d = r - 2; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape, data };
}

export function stridedSlice(node: Node, ins: RT[]): RT[] {
  const p = sliceParams(node, ins[0].shape, ins.slice(1));
  const out = sliceBox(ins[0], p.begin, p.step, p.shape);
  out.shape = p.outShape;
  return [out];
}

/** SliceFusion (TFLite SLICE): begin and size per dim; size -1 means to the end. */
export function sliceFusion(_node: Node, [x, beginT, sizeT]: RT[]): RT[] {
  const p = sliceFusionBox(x.shape, beginT, sizeT);
  return [sliceBox(x, p.begin, p.step, p.shape)];
}

export function split(node: Node, [x, splitT]: RT[]): RT[] {
  const { axis, sizes } = splitSizes(node, x.shape, splitT);
  let off = 0;
  return sizes.map((s) => {
    const begin = x.shape.map(() => 0);
    begin[axis] = off;
    off += s;
    const shape = [...x.shape];
    shape[axis] = s;
    return sliceBox(x, begin, x.shape.map(() => 1), shape);
  });
}

export function gather(node: Node, [x, idxT, axisT]: RT[]): RT[] {
  const { axis, outShape } = gatherParams(node, x.shape, idxT.shape, axisT);
  const idx = ints(idxT).map((i) => (i < 0 ? i + x.shape[axis] : i));
  const outer = size(x.shape.slice(0, axis)), inner = size(x.shape.slice(axis + 1)), d = x.shape[axis];
  const data = like(x, size(outShape));
  let p = 0;
  for (let o = 0; o < outer; o++)
    for (const i of idx) {
      if (i < 0 || i >= d) throw new UserError(`Gather ${node.name}: index ${i} out of range [0, ${d})`);
      data.set(x.data.subarray((o * d + i) * inner, (o * d + i + 1) * inner), p);
      p += inner;
    }
  return [{ shape: outShape, data }];
}

/** PadFusion: paddings [[begin, end] per dim] as the 2nd input (or attr), CONSTANT / REFLECT / SYMMETRIC. */
export function pad(node: Node, [x, padT, valueT]: RT[]): RT[] {
  const r = x.shape.length;
  const { pads, mode, value } = padParams(node, r, padT, valueT);
  const pb = (d: number) => pads[2 * d], pe = (d: number) => pads[2 * d + 1];
  const shape = x.shape.map((d, i) => d + pb(i) + pe(i));
  const n = size(shape);
  const data = like(x, n);
  const xs = strides(x.shape);
  const idx = new Array(r).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0, inside = true;
    for (let d = 0; d < r && inside; d++) {
      let c = idx[d] - pb(d);
      const len = x.shape[d];
      if (c < 0 || c >= len) {
        if (mode === 0) inside = false;
        else if (mode === 1) c = c < 0 ? -c : 2 * len - 2 - c; // REFLECT
        else c = c < 0 ? -c - 1 : 2 * len - 1 - c; // SYMMETRIC
      }
      src += c * xs[d];
    }
    data[i] = inside ? x.data[src] : value;
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return [{ shape, data }];
}

export function shapeOf(_node: Node, [x]: RT[]): RT[] {
  return [{ shape: [x.shape.length], data: Int32Array.from(x.shape) }];
}

/** Cast to the TypeId of the second input: bool as 0/1 bytes, integer types as int32, the rest float32. */
export function cast(_node: Node, [x, toT]: RT[]): RT[] {
  const to = toT ? ints(toT)[0] : TypeId.float32;
  const v = x.data as ArrayLike<number>;
  if (to === TypeId.bool) return [{ shape: x.shape, data: Uint8Array.from(v, (a) => +(a !== 0)) }];
  if (to === TypeId.int32 || to === TypeId.int64 || to === 31) return [{ shape: x.shape, data: Int32Array.from(v, Math.trunc) }];
  return [{ shape: x.shape, data: Float32Array.from(v) }];
}

export function expandDims(_node: Node, [x, axisT]: RT[]): RT[] {
  const axis = normAxis(ints(axisT)[0], x.shape.length + 1);
  const shape = [...x.shape];
  shape.splice(axis, 0, 1);
  return [{ shape, data: x.data }];
}
