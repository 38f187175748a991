/**
 * One tiled GEMM kernel serves convolution (implicit im2col), FullConnection and MatMul. The caller supplies
 * WGSL for reading A[m,k] and B[k,n] and for storing C[m,n] (bias and activation fused there).
 *
 * 8x8 threads per workgroup, each computing 8x8 outputs (4 where M or N is at most 32) from vec4 reads of the
 * tiles in workgroup memory, K in steps of 16. Tile loads run along K: each thread fills consecutive k of one A
 * row and of one B column, so neighbouring threads read neighbouring addresses of NHWC activations and [N, K]
 * weights (coalesced), and whatever a row costs to locate (a convolution's batch / y / x decomposition: four
 * divisions) is computed once per thread in `rowA`, not once per element. `WEBPTQ_KERNELS=v1` selects the
 * previous kernel (32x32 tiles of 4x4 per thread, loads along M, the row located per element), kept for the
 * side-by-side measurement in `npm run bench:gpu`.
 */
import { u, previousKernels } from './common.js';

export interface GemmSpec {
  M: number;
  N: number;
  K: number;
  /** Independent problems (matmul batch, conv group): workgroup z. */
  batches: number;
  /** WGSL declarations (bindings, constants, helper fns) placed before the kernel. */
  header: string;
  /**
   * Per-row values of A, computed once per thread: `fields` of `struct RowA` and the body of
   * `fn rowA(m: u32, z: u32) -> RowA`. Without it a row is just its index `r.m`.
   */
  rowA?: { fields: string; init: string };
  /**
   * A[m, k] read from `in0`: either the body of `fn loadA(r: RowA, k: u32, z: u32) -> f32` (called only in range),
   * or of `fn baseA(r: RowA, k: u32, z: u32) -> i32`, its index in in0 (-1 for padding, which reads as 0).
   */
  loadA?: string;
  baseA?: string;
  /**
   * baseA only: every run of 16 consecutive k from a multiple of 16 lies contiguous in in0 (a convolution whose
   * group's channels are a multiple of 16), so a tile load locates the run once and reads it straight.
   */
  contiguousA?: boolean;
  /** Body of `fn loadB(k: u32, n: u32, z: u32) -> f32`. */
  loadB: string;
  /** When B[k, n] for consecutive k are consecutive in `in1` ([N, K] weights): the index of B[0, n] there. */
  columnB?: string;
  /** Body of `fn store(m: u32, n: u32, z: u32, v: f32)`. */
  store: string;
}

const TM = 32, TN = 32, TK = 16;


/** Output rows and columns per thread, by shape: 8 x 8 (a 64 x 64 tile), narrower where N or M is small. */
function blocking(s: GemmSpec): { wm: number; wn: number } {
  return { wm: s.M <= 32 ? 4 : 8, wn: s.N <= 32 ? 4 : 8 };
}

export function gemmKernel(s: GemmSpec): { code: string; dispatch: [number, number, number] } {
  if (previousKernels()) return { code: gemmV1(s), dispatch: [Math.ceil(s.N / TN), Math.ceil(s.M / TM), s.batches] };
  const { wm, wn } = blocking(s);
  return { code: gemmAlongK(s, wm, wn), dispatch: [Math.ceil(s.N / (8 * wn)), Math.ceil(s.M / (8 * wm)), s.batches] };
}

const rowParts = (s: GemmSpec) => s.rowA ?? { fields: 'm: u32', init: 'return RowA(m);' };

function prelude(s: GemmSpec): string {
  const row = rowParts(s);
  return `${s.header}
struct RowA { ${row.fields} }
fn rowA(m: u32, z: u32) -> RowA { ${row.init} }
${s.baseA !== undefined ? `fn baseA(r: RowA, k: u32, z: u32) -> i32 { ${s.baseA} }
fn loadA(r: RowA, k: u32, z: u32) -> f32 { let b = baseA(r, k, z); if (b < 0) { return 0.0; } return in0[u32(b)]; }` : `fn loadA(r: RowA, k: u32, z: u32) -> f32 { ${s.loadA} }`}
fn loadB(k: u32, n: u32, z: u32) -> f32 { ${s.loadB} }${s.columnB !== undefined ? `\nfn columnB(n: u32, z: u32) -> u32 { return ${s.columnB}; }` : ''}
fn store(m: u32, n: u32, z: u32, v: f32) { ${s.store} }
`;
}

const range = (n: number) => [...Array(n).keys()];
const LANES = ['x', 'y', 'z', 'w'];

/**
 * The kernel: an (8 wm) x (8 wn) tile per workgroup of 8 x 8 threads, each computing wm x wn outputs from vec4
 * reads of the tiles in workgroup memory (wm / 4 + wn / 4 reads per wm * wn multiply-adds), K in steps of 16.
 */
function gemmAlongK(s: GemmSpec, wm: number, wn: number): string {
  const tm = 8 * wm, tn = 8 * wn;
  // Tile loads: each thread fills whole vec4s — four neighbouring rows of A (columns of B) at a few
  // consecutive k — so the rows are located once per thread and the k run along memory.
  const aGroups = tm / 4, aPer = (TK * aGroups) / 64, bGroups = tn / 4, bPer = (TK * bGroups) / 64;
  const kCheck = (k: string) => (s.K % TK === 0 ? '' : ` && ${k} < ${u(s.K)}`);
  const contiguous = !!s.contiguousA && s.baseA !== undefined && s.K % TK === 0;
  const acc = (r: number, q: number) => `c${r}_${q}`;
  const decl = range(wm).flatMap((r) => range(wn / 4).map((q) => `var ${acc(r, q)} = vec4f(0.0);`)).join(' ');
  const fma = range(wm).flatMap((r) => range(wn / 4).map((q) => `${acc(r, q)} = ${acc(r, q)} + a${r >> 2}.${LANES[r & 3]} * b${q};`)).join('\n      ');
  const stores = range(wm).map((r) => `
  if (m0 + ${u(r)} < ${u(s.M)}) {${range(wn).map((c) => `
    if (n0 + ${u(c)} < ${u(s.N)}) { store(m0 + ${u(r)}, n0 + ${u(c)}, z, ${acc(r, c >> 2)}.${LANES[c & 3]}); }`).join('')}
  }`).join('');
  const four = (f: (i: number) => string) => `vec4f(${range(4).map(f).join(', ')})`;
  const loadAs = contiguous
    ? `${range(4).map((i) => `let base${i} = select(-1, baseA(ra${i}, k0 + ka, z), aIn${i});`).join(' ')}
    for (var j = 0u; j < ${u(aPer)}; j = j + 1u) {
      As[ka + j][ag] = ${four((i) => `select(0.0, in0[u32(max(base${i}, 0)) + j], base${i} >= 0)`)};
    }`
    : `for (var j = 0u; j < ${u(aPer)}; j = j + 1u) {
      let k = k0 + ka + j;
      As[ka + j][ag] = ${four((i) => `select(0.0, loadA(ra${i}, min(k, ${u(s.K - 1)}), z), aIn${i}${kCheck('k')})`)};
    }`;
  const loadB = (i: number) => (s.columnB !== undefined ? `in1[colB${i} + min(k, ${u(s.K - 1)})]` : `loadB(min(k, ${u(s.K - 1)}), bn${i}, z)`);
  return `${prelude(s)}
var<workgroup> As: array<array<vec4f, ${tm / 4}>, ${TK}>;
var<workgroup> Bs: array<array<vec4f, ${tn / 4}>, ${TK}>;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let z = wid.z;
  let t = lid.y * 8u + lid.x;
  // This thread's share of every tile load: rows 4 ag .. 4 ag + 3 of A at k from ka (columns of B likewise).
  let ag = t % ${u(aGroups)};
  let ka = (t / ${u(aGroups)}) * ${u(aPer)};
  ${range(4).map((i) => `let am${i} = wid.y * ${u(tm)} + ag * 4u + ${u(i)}; let aIn${i} = am${i} < ${u(s.M)}; let ra${i} = rowA(min(am${i}, ${u(s.M - 1)}), z);`).join('\n  ')}
  let bg = t % ${u(bGroups)};
  let kb = (t / ${u(bGroups)}) * ${u(bPer)};
  ${range(4).map((i) => `let bIn${i} = wid.x * ${u(tn)} + bg * 4u + ${u(i)} < ${u(s.N)}; let bn${i} = min(wid.x * ${u(tn)} + bg * 4u + ${u(i)}, ${u(s.N - 1)});${s.columnB !== undefined ? ` let colB${i} = columnB(bn${i}, z);` : ''}`).join('\n  ')}
  ${decl}
  for (var k0 = 0u; k0 < ${u(s.K)}; k0 = k0 + ${TK}u) {
    ${loadAs}
    for (var j = 0u; j < ${u(bPer)}; j = j + 1u) {
      let k = k0 + kb + j;
      Bs[kb + j][bg] = ${four((i) => `select(0.0, ${loadB(i)}, bIn${i}${kCheck('k')})`)};
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
      ${range(wm / 4).map((i) => `let a${i} = As[kk][lid.y * ${u(wm / 4)} + ${u(i)}];`).join(' ')}
      ${range(wn / 4).map((q) => `let b${q} = Bs[kk][lid.x * ${u(wn / 4)} + ${u(q)}];`).join(' ')}
      ${fma}
    }
    workgroupBarrier();
  }
  let m0 = wid.y * ${u(tm)} + lid.y * ${u(wm)};
  let n0 = wid.x * ${u(tn)} + lid.x * ${u(wn)};${stores}
}`;
}

/** The previous kernel: consecutive threads load consecutive m (or n) of one k, the row located per element. */
function gemmV1(s: GemmSpec): string {
  return `${prelude(s)}
var<workgroup> As: array<array<f32, ${TM}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TN}>, ${TK}>;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m0 = wid.y * ${TM}u;
  let n0 = wid.x * ${TN}u;
  let z = wid.z;
  let t = lid.y * 8u + lid.x;
  var c0 = vec4f(0.0); var c1 = vec4f(0.0); var c2 = vec4f(0.0); var c3 = vec4f(0.0);
  for (var k0 = 0u; k0 < ${u(s.K)}; k0 = k0 + ${TK}u) {
    for (var e = t; e < ${TK * TM}u; e = e + 64u) {
      let kk = e / ${TM}u;
      let mm = e % ${TM}u;
      let m = m0 + mm;
      let k = k0 + kk;
      As[kk][mm] = select(0.0, loadA(rowA(min(m, ${u(s.M - 1)}), z), min(k, ${u(s.K - 1)}), z), m < ${u(s.M)} && k < ${u(s.K)});
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
}
