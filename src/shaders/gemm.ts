/**
 * One tiled GEMM kernel serves convolution (implicit im2col), FullConnection and MatMul: 32x32 output tiles,
 * 8x8 threads computing 4x4 each, K in steps of 16 through workgroup memory. The caller supplies WGSL for
 * reading A[m,k] and B[k,n] and for storing C[m,n] (bias and activation fused there).
 */
import { u } from './common.js';

export interface GemmSpec {
  M: number;
  N: number;
  K: number;
  /** Independent problems (matmul batch, conv group): workgroup z. */
  batches: number;
  /** WGSL declarations (bindings, constants, helper fns) placed before the kernel. */
  header: string;
  /** Body of `fn loadA(m: u32, k: u32, z: u32) -> f32` (called only in range). */
  loadA: string;
  /** Body of `fn loadB(k: u32, n: u32, z: u32) -> f32`. */
  loadB: string;
  /** Body of `fn store(m: u32, n: u32, z: u32, v: f32)`. */
  store: string;
}

const TM = 32, TN = 32, TK = 16;

export function gemmKernel(s: GemmSpec): { code: string; dispatch: [number, number, number] } {
  const code = `${s.header}
fn loadA(m: u32, k: u32, z: u32) -> f32 { ${s.loadA} }
fn loadB(k: u32, n: u32, z: u32) -> f32 { ${s.loadB} }
fn store(m: u32, n: u32, z: u32, v: f32) { ${s.store} }

var<workgroup> As: array<array<f32, ${TM}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TN}>, ${TK}>;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m0 = wid.y * ${TM}u;
  let n0 = wid.x * ${TN}u;
  let z = wid.z;
  let t = lid.y * 8u + lid.x;
  // 4x4 accumulators as four vec4 rows: plain registers, no dynamically indexed private arrays.
  var c0 = vec4f(0.0); var c1 = vec4f(0.0); var c2 = vec4f(0.0); var c3 = vec4f(0.0);
  for (var k0 = 0u; k0 < ${u(s.K)}; k0 = k0 + ${TK}u) {
    for (var e = t; e < ${TK * TM}u; e = e + 64u) {
      let kk = e / ${TM}u;
      let mm = e % ${TM}u;
      let m = m0 + mm;
      let k = k0 + kk;
      As[kk][mm] = select(0.0, loadA(min(m, ${u(s.M - 1)}), min(k, ${u(s.K - 1)}), z), m < ${u(s.M)} && k < ${u(s.K)});
    }
    for (var e = t; e < ${TK * TN}u; e = e + 64u) {
      let kk = e / ${TN}u;
      let nn = e % ${TN}u;
      let n = n0 + nn;
      let k = k0 + kk;
      Bs[kk][nn] = select(0.0, loadB(min(k, ${u(s.K - 1)}), min(n, ${u(s.N - 1)}), z), n < ${u(s.N)} && k < ${u(s.K)});
    }
    workgroupBarrier();
    let ar = lid.y * 4u;
    let bc = lid.x * 4u;
    for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
      let b = vec4f(Bs[kk][bc], Bs[kk][bc + 1u], Bs[kk][bc + 2u], Bs[kk][bc + 3u]);
      c0 = c0 + As[kk][ar] * b;
      c1 = c1 + As[kk][ar + 1u] * b;
      c2 = c2 + As[kk][ar + 2u] * b;
      c3 = c3 + As[kk][ar + 3u] * b;
    }
    workgroupBarrier();
  }
  let rows = array<vec4f, 4>(c0, c1, c2, c3);
  for (var r = 0u; r < 4u; r = r + 1u) {
    let m = m0 + lid.y * 4u + r;
    if (m >= ${u(s.M)}) { continue; }
    for (var c = 0u; c < 4u; c = c + 1u) {
      let n = n0 + lid.x * 4u + c;
      if (n < ${u(s.N)}) { store(m, n, z, rows[r][c]); }
    }
  }
}`;
  return { code, dispatch: [Math.ceil(s.N / TN), Math.ceil(s.M / TM), s.batches] };
}
