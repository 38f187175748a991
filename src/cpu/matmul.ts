/** FullConnection (weight [out, in]) and MatMulFusion (batched, broadcast, optional transposes and bias). */
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { RT, f32, size, permute } from './tensor.js';
import { gemmNT } from './gemm.js';
import { applyActivation } from './activation.js';

export function fullConnection(node: Node, [x, w, bias]: RT[]): RT[] {
  const a = node.attrs;
  const [outC, inC] = w.shape;
  // use_axis: keep the dims before `axis` (Caffe InnerProduct); otherwise flatten to [-1, in] (TFLite).
  const rows = a.use_axis ? size(x.shape.slice(0, a.axis as number)) : size(x.shape) / inC;
  if (rows * inC !== size(x.shape))
    throw new UserError(`FullConnection ${node.name}: input [${x.shape}] does not flatten to rows of ${inC}`);
  const out = f32(a.use_axis ? [...x.shape.slice(0, a.axis as number), outC] : [rows, outC]);
  const od = out.data as Float32Array;
  gemmNT(rows, outC, inC, x.data as Float32Array, inC, w.data as Float32Array, inC, od, outC);
  addBias(od, bias, outC);
  applyActivation(od, (a.activation_type as number) ?? 0);
  return [out];
}

export function matMul(node: Node, [x, y, bias]: RT[]): RT[] {
  const a = node.attrs;
  let A = x, B = y;
  if (A.shape.length === 1) A = { shape: [1, A.shape[0]], data: A.data };
  if (B.shape.length === 1) B = { shape: [B.shape[0], 1], data: B.data };
  const ra = A.shape.length, rb = B.shape.length;
  // Bring A to [.., M, K] and B to [.., N, K] (the gemmNT layout).
  if (a.transpose_a) A = permute(A, swapLast(ra));
  if (!a.transpose_b) B = permute(B, swapLast(rb));
  const M = A.shape[ra - 2], K = A.shape[ra - 1], N = B.shape[rb - 2];
  if (B.shape[rb - 1] !== K) throw new UserError(`MatMulFusion ${node.name}: inner dimensions differ ([${x.shape}] x [${y.shape}])`);
  const batchA = A.shape.slice(0, -2), batchB = B.shape.slice(0, -2);
  const r = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = batchA[batchA.length - r + i] ?? 1, db = batchB[batchB.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new UserError(`MatMulFusion ${node.name}: batch dims do not broadcast`);
    batch.push(Math.max(da, db));
  }
  const nb = size(batch);
  const out = f32([...batch, M, N]);
  const od = out.data as Float32Array;
  const Ad = A.data as Float32Array, Bd = B.data as Float32Array;
  const sa = size(batchA), sb = size(batchB);
  const tmp = new Float32Array(M * N);
  for (let i = 0; i < nb; i++) {
    const ia = sa === 1 ? 0 : i % sa, ib = sb === 1 ? 0 : i % sb;
    gemmNT(M, N, K, Ad.subarray(ia * M * K), K, Bd.subarray(ib * N * K), K, tmp, N);
    od.set(tmp, i * M * N);
  }
  addBias(od, bias, N);
  applyActivation(od, (a.activation_type as number) ?? 0);
  let shape = out.shape;
  if (x.shape.length === 1) shape = shape.filter((_, i) => i !== shape.length - 2);
  if (y.shape.length === 1) shape = shape.slice(0, -1);
  return [{ shape, data: od }];
}

function swapLast(rank: number): number[] {
  const p = [...Array(rank).keys()];
  [p[rank - 2], p[rank - 1]] = [p[rank - 1], p[rank - 2]];
  return p;
}

function addBias(od: Float32Array, bias: RT | undefined, n: number): void {
  if (!bias) return;
  const bd = bias.data as Float32Array;
  if (bd.length === 1) for (let i = 0; i < od.length; i++) od[i] += bd[0];
  else for (let i = 0; i < od.length; i += n) for (let c = 0; c < n; c++) od[i + c] += bd[c];
}
