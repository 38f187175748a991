/** FullConnection (weight [out, in]) and MatMulFusion (batched, broadcast, optional transposes and bias). */
import type { Node } from '../ir/graph.js';
import { RT, f32, size, permute } from '../ir/tensor.js';
import { matMulShape, fullConnectionShape } from '../ir/op-params.js';
import { gemmNT } from './gemm.js';
import { applyActivation } from './activation.js';
import { wasmGemm, fusesActivation } from './wasm/conv.js';

export function fullConnection(node: Node, [x, w, bias]: RT[]): RT[] {
  const { rows, inC, outC, outShape } = fullConnectionShape(node, x.shape, w.shape);
  const act = (node.attrs.activation_type as number) ?? 0;
  // A bias of another length than outC (a broadcast scalar) is added here, so the activation follows it.
  const late = !!bias && bias.data.length !== outC;
  const fast = wasmGemm(rows, outC, inC, x.data as Float32Array, w.data as Float32Array, bias?.data as Float32Array | undefined, late ? 0 : act, true);
  if (fast) {
    if (late) addBias(fast, bias, outC);
    if (late || !fusesActivation(act)) applyActivation(fast, act);
    return [{ shape: outShape, data: fast }];
  }
  const out = f32(outShape);
  const od = out.data as Float32Array;
  gemmNT(rows, outC, inC, x.data as Float32Array, inC, w.data as Float32Array, inC, od, outC);
  addBias(od, bias, outC);
  applyActivation(od, (node.attrs.activation_type as number) ?? 0);
  return [out];
}

export function matMul(node: Node, [x, y, bias]: RT[]): RT[] {
  const s = matMulShape(node, x.shape, y.shape);
  const { M, N, K } = s;
  // Bring A to [.., M, K] and B to [.., N, K] (the gemmNT layout).
  let A: RT = { shape: [...s.aBatch, s.transA ? K : M, s.transA ? M : K], data: x.data };
  let B: RT = { shape: [...s.bBatch, s.transB ? N : K, s.transB ? K : N], data: y.data };
  if (s.transA) A = permute(A, swapLast(A.shape.length));
  if (!s.transB) B = permute(B, swapLast(B.shape.length));
  const nb = size(s.batch);
  const od = new Float32Array(nb * M * N);
  const Ad = A.data as Float32Array, Bd = B.data as Float32Array;
  const sa = size(s.aBatch), sb = size(s.bBatch);
  const tmp = new Float32Array(M * N);
  for (let i = 0; i < nb; i++) {
    const ia = sa === 1 ? 0 : i % sa, ib = sb === 1 ? 0 : i % sb;
    gemmNT(M, N, K, Ad.subarray(ia * M * K), K, Bd.subarray(ib * N * K), K, tmp, N);
    od.set(tmp, i * M * N);
  }
  addBias(od, bias, N);
  applyActivation(od, (node.attrs.activation_type as number) ?? 0);
  return [{ shape: s.outShape, data: od }];
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
