/**
 * Kernels that move or pick elements by index: Tile, BroadcastTo, Depth/SpaceToDepth (NHWC), OneHot, Range,
 * ArgMax/ArgMin, TopK, CumSum, GatherD (ONNX GatherElements), GatherNd, ScatterNdUpdate, ScatterElements, ReverseV2,
 * ReverseSequence, SpaceToBatchND, BatchToSpaceND, Stack, Unstack, Fill.
 */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { RT, RTData, size, strides, normAxis, broadcastShape, broadcastStrides } from '../ir/tensor.js';
import { ints } from '../ir/op-params.js';

const like = (t: RT, n: number): RTData => new (t.data.constructor as Float32ArrayConstructor)(n) as RTData;

/** Calls fn(outIndex, coords) for every element of `shape`, coordinates reused between calls. */
function forEachIndex(shape: number[], fn: (i: number, c: number[]) => void): void {
  const n = size(shape);
  const c = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    fn(i, c);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

const offsetOf = (st: number[], c: number[]) => c.reduce((o, v, d) => o + v * st[d], 0);

export function tile(_n: Node, [x, multT]: RT[]): RT[] {
  const reps = ints(multT);
  const shape = x.shape.map((d, i) => d * (reps[i] ?? 1));
  const st = strides(x.shape), data = like(x, size(shape));
  forEachIndex(shape, (i, c) => (data[i] = x.data[offsetOf(st, c.map((v, d) => v % x.shape[d]))]));
  return [{ shape, data }];
}

export function broadcastTo(_n: Node, [x, shapeT]: RT[]): RT[] {
  const shape = broadcastShape(x.shape, ints(shapeT), 'BroadcastTo');
  const st = broadcastStrides(x.shape, shape), data = like(x, size(shape));
  forEachIndex(shape, (i, c) => (data[i] = x.data[offsetOf(st, c)]));
  return [{ shape, data }];
}

/** NHWC depth-to-space: DCR (TF, ONNX default) takes the block position from the high channel bits, CRD from the low. */
export function depthToSpace(n: Node, [x]: RT[]): RT[] {
  const b = n.attrs.block_size as number, crd = n.attrs.mode === 'CRD';
  const [N, H, W, C] = x.shape, oc = C / (b * b);
  const shape = [N, H * b, W * b, oc], data = like(x, size(shape));
  forEachIndex(shape, (i, [bn, y, xx, c]) => {
    const by = y % b, bx = xx % b;
    const ic = crd ? c * b * b + by * b + bx : (by * b + bx) * oc + c;
    data[i] = x.data[((bn * H + Math.floor(y / b)) * W + Math.floor(xx / b)) * C + ic];
  });
  return [{ shape, data }];
}

export function spaceToDepth(n: Node, [x]: RT[]): RT[] {
  const b = n.attrs.block_size as number;
  const [N, H, W, C] = x.shape;
  const shape = [N, H / b, W / b, C * b * b], data = like(x, size(shape));
  forEachIndex(shape, (i, [bn, y, xx, oc]) => {
    const c = oc % C, blk = Math.floor(oc / C);
    data[i] = x.data[((bn * H + y * b + Math.floor(blk / b)) * W + xx * b + (blk % b)) * C + c];
  });
  return [{ shape, data }];
}

/** OneHot(indices, depth, on, off) along `axis`; negative indices count from depth. */
export function oneHot(n: Node, [idx, depthT, onT, offT]: RT[]): RT[] {
  const depth = ints(depthT)[0];
  const axis = normAxis((n.attrs.axis as number) ?? -1, idx.shape.length + 1);
  const shape = [...idx.shape.slice(0, axis), depth, ...idx.shape.slice(axis)];
  const on = onT.data[0], off = offT.data[0];
  const data = new Float32Array(size(shape)).fill(off);
  const inner = size(idx.shape.slice(axis));
  for (let i = 0; i < idx.data.length; i++) {
    let k = Math.trunc(idx.data[i]);
    if (k < 0) k += depth;
    if (k < 0 || k >= depth) continue;
    const outer = Math.floor(i / inner), r = i % inner;
    data[(outer * depth + k) * inner + r] = on;
  }
  return [{ shape, data }];
}

export function range(_n: Node, [startT, limitT, deltaT]: RT[]): RT[] {
  const start = startT.data[0], limit = limitT.data[0], delta = deltaT.data[0];
  const count = Math.max(Math.ceil((limit - start) / delta), 0);
  const data = like(startT, count);
  for (let i = 0; i < count; i++) data[i] = start + i * delta;
  return [{ shape: [count], data }];
}

/** Index of the max (ArgMaxFusion) or min along `axis`, first occurrence; optionally the value too. */
export function argMinMax(isMax: boolean) {
  return (n: Node, [x]: RT[]): RT[] => {
    const axis = normAxis((n.attrs.axis as number) ?? 0, x.shape.length);
    const len = x.shape[axis], inner = size(x.shape.slice(axis + 1)), outer = size(x.shape.slice(0, axis));
    const idx = new Int32Array(outer * inner), val = new Float32Array(outer * inner);
    for (let o = 0; o < outer; o++)
      for (let r = 0; r < inner; r++) {
        let best = 0, bv = x.data[o * len * inner + r];
        for (let k = 1; k < len; k++) {
          const v = x.data[(o * len + k) * inner + r];
          if (isMax ? v > bv : v < bv) [best, bv] = [k, v];
        }
        idx[o * inner + r] = best;
        val[o * inner + r] = bv;
      }
    const shape = n.attrs.keep_dims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
    return n.attrs.out_max_value ? [{ shape, data: val }] : [{ shape, data: idx }];
  };
}

/** TopKFusion(x, k): the k largest (or smallest) along `axis`, values then int32 indices, sorted. */
export function topK(n: Node, [x, kT]: RT[]): RT[] {
  const k = ints(kT)[0];
  const axis = normAxis((n.attrs.axis as number) ?? -1, x.shape.length);
  const largest = (n.attrs.largest as number) ?? 1;
  const len = x.shape[axis], inner = size(x.shape.slice(axis + 1)), outer = size(x.shape.slice(0, axis));
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  const vals = new Float32Array(size(shape)), idx = new Int32Array(size(shape));
  const order = new Array<number>(len);
  for (let o = 0; o < outer; o++)
    for (let r = 0; r < inner; r++) {
      const at = (j: number) => x.data[(o * len + j) * inner + r];
      for (let j = 0; j < len; j++) order[j] = j;
      order.sort((a, b) => (largest ? at(b) - at(a) : at(a) - at(b)) || a - b);
      for (let j = 0; j < k; j++) {
        vals[(o * k + j) * inner + r] = at(order[j]);
        idx[(o * k + j) * inner + r] = order[j];
      }
    }
  return [{ shape, data: vals }, { shape, data: idx }];
}

export function cumSum(n: Node, [x, axisT]: RT[]): RT[] {
  const axis = normAxis(ints(axisT)[0], x.shape.length);
  const len = x.shape[axis], inner = size(x.shape.slice(axis + 1)), outer = size(x.shape.slice(0, axis));
  const data = like(x, x.data.length);
  const rev = !!n.attrs.reverse, excl = !!n.attrs.exclusive;
  for (let o = 0; o < outer; o++)
    for (let r = 0; r < inner; r++) {
      let acc = 0;
      for (let j = 0; j < len; j++) {
        const k = rev ? len - 1 - j : j, at = (o * len + k) * inner + r;
        if (excl) { data[at] = acc; acc += x.data[at]; }
        else { acc += x.data[at]; data[at] = acc; }
      }
    }
  return [{ shape: x.shape, data }];
}

/** GatherD(x, dim, index): out[c] = x[c with c[dim] = index[c]] (ONNX GatherElements). */
export function gatherD(n: Node, [x, dimT, idx]: RT[]): RT[] {
  const axis = normAxis(ints(dimT)[0], x.shape.length);
  const st = strides(x.shape), data = like(x, idx.data.length);
  forEachIndex(idx.shape, (i, c) => {
    let k = Math.trunc(idx.data[i]);
    if (k < 0) k += x.shape[axis];
    if (k < 0 || k >= x.shape[axis]) throw new UserError(`GatherD ${n.name}: index ${k} out of range`);
    data[i] = x.data[offsetOf(st, c) + (k - c[axis]) * st[axis]];
  });
  return [{ shape: idx.shape, data }];
}

/** GatherNd(x, indices): the last index dim addresses the leading dims of x. */
export function gatherNd(n: Node, [x, idx]: RT[]): RT[] {
  const q = idx.shape[idx.shape.length - 1], rows = size(idx.shape.slice(0, -1));
  const inner = size(x.shape.slice(q)), st = strides(x.shape);
  const data = like(x, rows * inner);
  for (let r = 0; r < rows; r++) {
    let off = 0;
    for (let j = 0; j < q; j++) {
      let k = Math.trunc(idx.data[r * q + j]);
      if (k < 0) k += x.shape[j];
      if (k < 0 || k >= x.shape[j]) throw new UserError(`GatherNd ${n.name}: index ${k} out of range`);
      off += k * st[j];
    }
    data.set(x.data.subarray(off, off + inner), r * inner);
  }
  return [{ shape: [...idx.shape.slice(0, -1), ...x.shape.slice(q)], data }];
}

/** ScatterNdUpdate(data, indices, updates): a copy of data with the addressed slices replaced. */
export function scatterNdUpdate(_n: Node, [x, idx, upd]: RT[]): RT[] {
  const q = idx.shape[idx.shape.length - 1], rows = size(idx.shape.slice(0, -1));
  const inner = size(x.shape.slice(q)), st = strides(x.shape);
  const data = x.data.slice();
  for (let r = 0; r < rows; r++) {
    let off = 0;
    for (let j = 0; j < q; j++) off += Math.trunc(idx.data[r * q + j]) * st[j];
    data.set(upd.data.subarray(r * inner, (r + 1) * inner), off);
  }
  return [{ shape: x.shape, data }];
}

/** ScatterElements(data, indices, updates) along `axis` (replacing; ONNX reduction 'none'). */
export function scatterElements(n: Node, [x, idx, upd]: RT[]): RT[] {
  const axis = normAxis((n.attrs.axis as number) ?? 0, x.shape.length);
  const st = strides(x.shape), data = x.data.slice();
  forEachIndex(idx.shape, (i, c) => {
    let k = Math.trunc(idx.data[i]);
    if (k < 0) k += x.shape[axis];
    data[offsetOf(st, c) + (k - c[axis]) * st[axis]] = upd.data[i];
  });
  return [{ shape: x.shape, data }];
}

/**
 * Element movement described by a source function: out[i] = x[source(coords)], or 0 where the source is -1.
 * The kernels below (reverse, space/batch reshuffles, stack/unstack) are each one such function.
 */
export function gatherWith(x: RT, shape: number[], source: (c: number[]) => number): RT {
  const data = like(x, size(shape));
  forEachIndex(shape, (i, c) => {
    const s = source(c);
    data[i] = s < 0 ? 0 : x.data[s];
  });
  return { shape, data };
}

export function reverseV2(n: Node, [x]: RT[]): RT[] {
  const axes = ((n.attrs.axis as number[]) ?? []).map((a) => normAxis(a, x.shape.length));
  const st = strides(x.shape);
  return [gatherWith(x, x.shape, (c) => c.reduce((o, v, d) => o + (axes.includes(d) ? x.shape[d] - 1 - v : v) * st[d], 0))];
}

/** Reverses the first seq_lengths[b] elements along seq_dim of every batch_dim slice b. */
export function reverseSequence(n: Node, [x, lensT]: RT[]): RT[] {
  const seqDim = normAxis(n.attrs.seq_dim as number, x.shape.length), batchDim = normAxis(n.attrs.batch_dim as number, x.shape.length);
  const lens = ints(lensT), st = strides(x.shape);
  return [gatherWith(x, x.shape, (c) => c.reduce((o, v, d) => {
    const len = lens[c[batchDim]];
    return o + (d === seqDim && v < len ? len - 1 - v : v) * st[d];
  }, 0))];
}

/** SpaceToBatchND on NHWC: padded H and W cut into block_shape tiles that become batches (block offset major). */
export function spaceToBatchNd(n: Node, [x]: RT[]): RT[] {
  const [bh, bw] = n.attrs.block_shape as number[];
  const [[pt, pb], [pl, pr]] = n.attrs.paddings as number[][];
  const [N, H, W, C] = x.shape;
  const shape = [N * bh * bw, (H + pt + pb) / bh, (W + pl + pr) / bw, C];
  return [gatherWith(x, shape, ([b, y, xx, c]) => {
    const n0 = b % N, off = Math.floor(b / N), iy = y * bh + Math.floor(off / bw) - pt, ix = xx * bw + (off % bw) - pl;
    return iy < 0 || iy >= H || ix < 0 || ix >= W ? -1 : ((n0 * H + iy) * W + ix) * C + c;
  })];
}

/** BatchToSpace(ND) on NHWC: the inverse tiling, then crops (BatchToSpace names its block `block_size`). */
export function batchToSpaceNd(n: Node, [x]: RT[]): RT[] {
  const [bh, bw] = (n.attrs.block_size ?? n.attrs.block_shape) as number[];
  const [[ct, cb], [cl, cr]] = n.attrs.crops as number[][];
  const [B, H, W, C] = x.shape, N = B / (bh * bw);
  const shape = [N, H * bh - ct - cb, W * bw - cl - cr, C];
  return [gatherWith(x, shape, ([n0, y, xx, c]) => {
    const yy = y + ct, xw = xx + cl;
    const b = ((yy % bh) * bw + (xw % bw)) * N + n0;
    return ((b * H + Math.floor(yy / bh)) * W + Math.floor(xw / bw)) * C + c;
  })];
}

/** Stack: the inputs joined along a new axis. */
export function stack(n: Node, ins: RT[]): RT[] {
  const rank = ins[0].shape.length + 1, axis = normAxis(n.attrs.axis as number, rank);
  const shape = [...ins[0].shape.slice(0, axis), ins.length, ...ins[0].shape.slice(axis)];
  const inner = size(ins[0].shape.slice(axis)), data = like(ins[0], size(shape));
  const outer = size(ins[0].shape.slice(0, axis));
  for (let o = 0; o < outer; o++) ins.forEach((t, k) => data.set(t.data.subarray(o * inner, (o + 1) * inner), (o * ins.length + k) * inner));
  return [{ shape, data }];
}

/** Unstack: one output per index along the axis, that axis removed. */
export function unstack(n: Node, [x]: RT[]): RT[] {
  const axis = normAxis(n.attrs.axis as number, x.shape.length), count = x.shape[axis];
  const shape = x.shape.filter((_, d) => d !== axis), inner = size(x.shape.slice(axis + 1)), outer = size(x.shape.slice(0, axis));
  return Array.from({ length: count }, (_, k) => {
    const data = like(x, size(shape));
    for (let o = 0; o < outer; o++) data.set(x.data.subarray((o * count + k) * inner, (o * count + k + 1) * inner), o * inner);
    return { shape, data };
  });
}

export function fill(_n: Node, [dimsT, valueT]: RT[]): RT[] {
  const shape = ints(dimsT), data = like(valueT, size(shape));
  data.fill(valueT.data[0]);
  return [{ shape, data }];
}
