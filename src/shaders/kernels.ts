/**
 * WGSL kernels for every op of the CPU executor, as source generators with baked shapes. Each returns the
 * WGSL code and its dispatch size; bindings are the listed inputs (read) then the output (read_write).
 */
import { sizeOf as size } from '../ir/graph.js';
import { bindings, mainLinear, linearDispatch, u, f, i, stridesOf, coords, activationFn, perLane, previousKernels } from './common.js';
import { gemmKernel } from './gemm.js';
import { ReduceMode, ResizeMethod } from '../ir/schema/ops.js';
import { nearestSourceIndices, linearSourceTaps, cubicSourceTaps } from '../ir/resize-coords.js';
import type { ConvGeometry, DeconvGeometry, PoolGeometry, MatMulShape } from '../ir/op-params.js';

export interface Kernel {
  code: string;
  dispatch: [number, number, number];
}


/** Conv2DFusion as implicit GEMM (general and grouped), NHWC input, KHWC weight. */
export function convGemm(g: ConvGeometry, hasBias: boolean, act: number): Kernel {
  const icg = g.ic / g.group, ocg = g.oc / g.group;
  const K = g.kh * g.kw * icg;
  const M = g.n * g.oh * g.ow;
  return gemmKernel({
    M, N: ocg, K, batches: g.group,
    header: `${bindings(hasBias ? 3 : 2)}\n${activationFn(act)}`,
    // The output pixel's input origin, once per row: batch offset and the window's top-left corner.
    rowA: {
      fields: 'base: u32, iy0: i32, ix0: i32',
      init: `
  let b = m / ${u(g.oh * g.ow)}; let p = m % ${u(g.oh * g.ow)};
  let oy = p / ${u(g.ow)}; let ox = p % ${u(g.ow)};
  return RowA(b * ${u(g.ih * g.iw * g.ic)} + z * ${u(icg)}, i32(oy * ${u(g.sh)}) - ${i(g.padTop)}, i32(ox * ${u(g.sw)}) - ${i(g.padLeft)});`,
    },
    baseA: `
  let ky = k / ${u(g.kw * icg)}; let rem = k % ${u(g.kw * icg)};
  let kx = rem / ${u(icg)}; let ci = rem % ${u(icg)};
  let iy = r.iy0 + i32(ky * ${u(g.dh)});
  let ix = r.ix0 + i32(kx * ${u(g.dw)});
  if (iy < 0 || iy >= ${i(g.ih)} || ix < 0 || ix >= ${i(g.iw)}) { return -1; }
  return i32(r.base + (u32(iy) * ${u(g.iw)} + u32(ix)) * ${u(g.ic)} + ci);`,
    // 16 consecutive k from a multiple of 16 stay in one (ky, kx) when the group's channels are a multiple of 16.
    contiguousA: icg % 16 === 0,
    loadB: `return in1[(z * ${u(ocg)} + n) * ${u(K)} + k];`,
    columnB: `(z * ${u(ocg)} + n) * ${u(K)}`,
    store: `let co = z * ${u(ocg)} + n; out[m * ${u(g.oc)} + co] = act(v${hasBias ? ' + in2[co]' : ''});`,
  });
}

/**
 * Depthwise convolution (group == Cin == Cout): four channels of one output pixel per thread when the channels
 * come in fours (vec4 arithmetic on neighbouring addresses), else one output element per thread.
 */
export function depthwise(g: ConvGeometry, hasBias: boolean, act: number): Kernel {
  const lanes = g.oc % 4 === 0 ? 4 : 1;
  const groups = g.oc / lanes, taps = g.kh * g.kw;
  const total = g.n * g.oh * g.ow * groups;
  // A value of this thread's channels: f32, or vec4f of four neighbouring ones (`at` gives lane j's index).
  const val = (at: (j: string) => string) => (lanes === 1 ? at('0u') : `vec4f(${['0u', '1u', '2u', '3u'].map(at).join(', ')})`);
  const code = `${bindings(hasBias ? 3 : 2)}
${activationFn(act)}
${mainLinear(total, `
  let c = (idx % ${u(groups)}) * ${u(lanes)}; let p = idx / ${u(groups)};
  let ox = p % ${u(g.ow)}; let q = p / ${u(g.ow)};
  let oy = q % ${u(g.oh)}; let b = q / ${u(g.oh)};
  var s = ${hasBias ? val((j) => `in2[c + ${j}]`) : val(() => '0.0')};
  for (var ky = 0u; ky < ${u(g.kh)}; ky = ky + 1u) {
    let iy = i32(oy * ${u(g.sh)} + ky * ${u(g.dh)}) - ${i(g.padTop)};
    if (iy < 0 || iy >= ${i(g.ih)}) { continue; }
    for (var kx = 0u; kx < ${u(g.kw)}; kx = kx + 1u) {
      let ix = i32(ox * ${u(g.sw)} + kx * ${u(g.dw)}) - ${i(g.padLeft)};
      if (ix < 0 || ix >= ${i(g.iw)}) { continue; }
      let x = ((b * ${u(g.ih)} + u32(iy)) * ${u(g.iw)} + u32(ix)) * ${u(g.oc)} + c;
      let t = c * ${u(taps)} + ky * ${u(g.kw)} + kx;
      s = s + ${val((j) => `in0[x + ${j}]`)} * ${val((j) => `in1[t + ${j} * ${u(taps)}]`)};
    }
  }
  let o = p * ${u(g.oc)} + c;
  ${lanes === 1 ? 'out[o] = act(s);' : 'out[o] = act(s.x); out[o + 1u] = act(s.y); out[o + 2u] = act(s.z); out[o + 3u] = act(s.w);'}`)}`;
  return { code, dispatch: linearDispatch(total) };
}

/** Conv2dTransposeFusion, gather form: each output sums the input pixels whose window covers it. */
export function deconv(g: DeconvGeometry, hasBias: boolean, act: number): Kernel {
  const total = g.n * g.oh * g.ow * g.oc;
  const icg = g.ic / g.group, ocg = g.oc / g.group;
  const code = `${bindings(hasBias ? 3 : 2)}
${activationFn(act)}
${mainLinear(total, `
  let co = idx % ${u(g.oc)}; let p = idx / ${u(g.oc)};
  let ox = p % ${u(g.ow)}; let q = p / ${u(g.ow)};
  let oy = q % ${u(g.oh)}; let b = q / ${u(g.oh)};
  let gi = co / ${u(ocg)}; let cl = co % ${u(ocg)};
  var s = ${hasBias ? 'in2[co]' : '0.0'};
  for (var ky = 0u; ky < ${u(g.kh)}; ky = ky + 1u) {
    let ty = i32(oy) + ${i(g.pt)} - i32(ky * ${u(g.dh)});
    if (ty < 0 || ty % ${i(g.sh)} != 0) { continue; }
    let iy = ty / ${i(g.sh)};
    if (iy >= ${i(g.ih)}) { continue; }
    for (var kx = 0u; kx < ${u(g.kw)}; kx = kx + 1u) {
      let tx = i32(ox) + ${i(g.pl)} - i32(kx * ${u(g.dw)});
      if (tx < 0 || tx % ${i(g.sw)} != 0) { continue; }
      let ix = tx / ${i(g.sw)};
      if (ix >= ${i(g.iw)}) { continue; }
      let base = ((b * ${u(g.ih)} + u32(iy)) * ${u(g.iw)} + u32(ix)) * ${u(g.ic)} + gi * ${u(icg)};
      for (var ci = 0u; ci < ${u(icg)}; ci = ci + 1u) {
        let cin = gi * ${u(icg)} + ci;
        s = s + in0[base + ci] * in1[((cin * ${u(g.kh)} + ky) * ${u(g.kw)} + kx) * ${u(ocg)} + cl];
      }
    }
  }
  out[idx] = act(s);`)}`;
  return { code, dispatch: linearDispatch(total) };
}

/** y[rows, outC] = x[rows, inC] * W[outC, inC]^T + bias (FullConnection). */
export function fullConnection(rows: number, inC: number, outC: number, hasBias: boolean, act: number): Kernel {
  return gemmKernel({
    M: rows, N: outC, K: inC, batches: 1,
    header: `${bindings(hasBias ? 3 : 2)}\n${activationFn(act)}`,
    loadA: `return in0[r.m * ${u(inC)} + k];`,
    loadB: `return in1[n * ${u(inC)} + k];`,
    columnB: `n * ${u(inC)}`,
    store: `out[m * ${u(outC)} + n] = act(v${hasBias ? ' + in2[n]' : ''});`,
  });
}

/** Batched MatMulFusion with broadcast batch dims, optional transposes, bias and activation. */
export function matMul(s: MatMulShape, hasBias: boolean, biasLen: number, act: number): Kernel {
  const nb = size(s.batch);
  // Batch offset of A and B for output batch z, with broadcasting baked as per-dim strides.
  const offset = (dims: number[], stride: number) => {
    const r = s.batch.length, pad = r - dims.length;
    const st = stridesOf(dims);
    const ost = stridesOf(s.batch);
    const terms = s.batch.map((_, k) => {
      const d = dims[k - pad];
      if (k < pad || d === 1) return '';
      return ` + ((z / ${u(ost[k])}) % ${u(s.batch[k])}) * ${u(st[k - pad])}`;
    });
    return `(0u${terms.join('')}) * ${u(stride)}`;
  };
  const aIdx = s.transA ? `k * ${u(s.M)} + r.m` : `r.m * ${u(s.K)} + k`;
  const bIdx = s.transB ? `n * ${u(s.K)} + k` : `k * ${u(s.N)} + n`;
  return gemmKernel({
    M: s.M, N: s.N, K: s.K, batches: nb,
    header: `${bindings(hasBias ? 3 : 2)}\n${activationFn(act)}`,
    loadA: `return in0[${offset(s.aBatch, s.M * s.K)} + ${aIdx}];`,
    loadB: `return in1[${offset(s.bBatch, s.K * s.N)} + ${bIdx}];`,
    store: `out[(z * ${u(s.M)} + m) * ${u(s.N)} + n] = act(v${hasBias ? ` + in2[${biasLen === 1 ? '0u' : 'n'}]` : ''});`,
  });
}

/** Offset expression of a broadcast input for output coordinates c0..c{r-1}. */
function broadcastOffset(inShape: readonly number[], outShape: readonly number[]): string {
  const pad = outShape.length - inShape.length;
  const st = stridesOf(inShape);
  const terms = outShape.map((_, k) => (k < pad || inShape[k - pad] === 1 ? '' : ` + c${k} * ${u(st[k - pad])}`));
  return `0u${terms.join('')}`;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow' | 'fmod' | 'floormod' | 'floordiv' | 'sqdiff';
const BINARY_EXPR: Record<BinaryOp, string> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', div: 'a / b', max: 'max(a, b)', min: 'min(a, b)', pow: 'pow_any(a, b)',
  fmod: 'a - trunc(a / b) * b', floormod: 'a - floor(a / b) * b', floordiv: 'floor(a / b)', sqdiff: '(a - b) * (a - b)',
};

/**
 * Elementwise over broadcast inputs: `expr` is WGSL over v0, v1, ... (booleans are 0.0 / 1.0 floats on the GPU,
 * as the CPU's Uint8Array holds 0 / 1).
 */
export function broadcastExpr(inShapes: number[][], outShape: number[], expr: string): Kernel {
  const total = size(outShape);
  const loads = inShapes.map((s, k) => `  let v${k} = in${k}[${broadcastOffset(s, outShape)}];`).join('\n');
  const code = `${bindings(inShapes.length)}
${mainLinear(total, `
${coords(outShape)}
${loads}
  out[idx] = ${expr};`)}`;
  return { code, dispatch: linearDispatch(total) };
}

export function binary(op: BinaryOp, aShape: number[], bShape: number[], outShape: number[], act: number, preScale = 1, preShift = 0): Kernel {
  const total = size(outShape);
  const same = size(aShape) === total && size(bShape) === total;
  const pre = preScale !== 1 || preShift !== 0 ? `a = a * ${f(preScale)} + ${f(preShift)};` : '';
  const helpers = `${activationFn(act)}
// pow for negative bases with integral exponents, as C's powf
fn pow_any(a: f32, b: f32) -> f32 {
  if (a >= 0.0) { return pow(a, b); }
  let r = pow(-a, b);
  return select(r, -r, fract(b * 0.5) != 0.0 && fract(b) == 0.0);
}
fn op(a_in: f32, b: f32) -> f32 { var a = a_in; ${pre} return act(${BINARY_EXPR[op]}); }`;
  if (same && total % 4 === 0 && !previousKernels()) {
    // same shapes: four neighbouring elements per thread, vec4 loads and stores
    const code = `${bindings(2, '', 'vec4f')}
${helpers}
${mainLinear(total / 4, `
  let a = in0[idx]; let b = in1[idx];
  out[idx] = vec4f(op(a.x, b.x), op(a.y, b.y), op(a.z, b.z), op(a.w, b.w));`)}`;
    return { code, dispatch: linearDispatch(total / 4) };
  }
  const code = `${bindings(2)}
${helpers}
${mainLinear(total, same ? `
  out[idx] = op(in0[idx], in1[idx]);` : `
${coords(outShape)}
  out[idx] = op(in0[${broadcastOffset(aShape, outShape)}], in1[${broadcastOffset(bShape, outShape)}]);`)}`;
  return { code, dispatch: linearDispatch(total) };
}

/**
 * Elementwise unary: `expr` is a WGSL expression of x (or act(x)); `helpers` declares functions it calls. Four
 * neighbouring elements per thread (vec4 loads and stores) when the count allows.
 */
export function unary(total: number, expr: string, actType = 0, alpha = 0, minVal = 0, maxVal = 0, helpers = '', approximate = false): Kernel {
  const lanes = total % 4 === 0 && !previousKernels() ? 4 : 1;
  const code = `${bindings(1, '', lanes === 4 ? 'vec4f' : 'f32')}
${activationFn(actType, alpha, minVal, maxVal, approximate)}
${helpers}
fn op(x: f32) -> f32 { return ${expr}; }
${mainLinear(total / lanes, `  out[idx] = ${lanes === 4 ? perLane('op', 'in0[idx]') : 'op(in0[idx])'};`)}`;
  return { code, dispatch: linearDispatch(total / lanes) };
}

/** Per-channel (last axis) x * s[c] + b[c]: PReLU slope, ScaleFusion, folded BatchNorm. */
export function channelAffine(total: number, inner: number, channels: number, kind: 'prelu' | 'scale', hasBias: boolean, act: number): Kernel {
  // channels last and in fours: four neighbouring channels per thread, the parameters read as vec4 too
  const lanes = inner === 1 && channels % 4 === 0 && !previousKernels() ? 4 : 1;
  const ch = channels === 1 ? '0u' : `(idx / ${u(inner)}) % ${u(channels / lanes)}`;
  const activated = lanes === 4 ? perLane('act', 'y') : 'act(y)';
  const body = kind === 'prelu'
    ? `  let x = in0[idx]; let s = in1[${ch}];\n  out[idx] = select(x * s, x, x > ${lanes === 4 ? 'vec4f(0.0)' : '0.0'});`
    : `  let c = ${ch};\n  let y = in0[idx] * in1[c]${hasBias ? ' + in2[c]' : ''};\n  out[idx] = ${activated};`;
  const code = `${bindings(kind === 'scale' && hasBias ? 3 : 2, '', lanes === 4 ? 'vec4f' : 'f32')}
${activationFn(act)}
${mainLinear(total / lanes, body)}`;
  return { code, dispatch: linearDispatch(total / lanes) };
}

/** Max / average pooling: four channels per thread in vec4 when the channels come in fours, else one element. */
export function pool(p: PoolGeometry, max: boolean, act: number): Kernel {
  const lanes = p.c % 4 === 0 && !previousKernels() ? 4 : 1;
  const groups = p.c / lanes;
  const total = p.n * p.oh * p.ow * groups;
  const splat = (v: string) => (lanes === 4 ? `vec4f(${v})` : v);
  const code = `${bindings(1, '', lanes === 4 ? 'vec4f' : 'f32')}
${activationFn(act)}
${mainLinear(total, `
  let c = idx % ${u(groups)}; let q = idx / ${u(groups)};
  let ox = q % ${u(p.ow)}; let r = q / ${u(p.ow)};
  let oy = r % ${u(p.oh)}; let b = r / ${u(p.oh)};
  let y0 = max(i32(oy * ${u(p.sh)}) - ${i(p.pt)}, 0); let y1 = min(i32(oy * ${u(p.sh)}) - ${i(p.pt)} + ${i(p.kh)}, ${i(p.ih)});
  let x0 = max(i32(ox * ${u(p.sw)}) - ${i(p.pl)}, 0); let x1 = min(i32(ox * ${u(p.sw)}) - ${i(p.pl)} + ${i(p.kw)}, ${i(p.iw)});
  var acc = ${splat(max ? '-3.4028234663852886e38' : '0.0')};
  for (var y = y0; y < y1; y = y + 1) {
    let row = (b * ${u(p.ih)} + u32(y)) * ${u(p.iw)};
    for (var x = x0; x < x1; x = x + 1) {
      let v = in0[(row + u32(x)) * ${u(groups)} + c];
      acc = ${max ? 'max(acc, v)' : 'acc + v'};
    }
  }
  ${max ? '' : 'acc = acc / f32((y1 - y0) * (x1 - x0));'}
  out[idx] = ${lanes === 4 ? perLane('act', 'acc') : 'act(acc)'};`)}`;
  return { code, dispatch: linearDispatch(total) };
}

/**
 * ReduceFusion: one output per thread looping over the reduced coordinates; or, for long reductions (64 values
 * or more), one workgroup per output, each thread a strided share, the partial results combined in workgroup
 * memory.
 */
export function reduce(inShape: number[], axes: number[], mode: number, coeff: number): Kernel {
  const outFull = inShape.map((d, k) => (axes.includes(k) ? 1 : d));
  const total = size(outFull);
  const red = axes.map((a) => inShape[a]);
  const count = size(red);
  const st = stridesOf(inShape);
  const init = mode === ReduceMode.Max ? '-3.4028234663852886e38' : mode === ReduceMode.Min ? '3.4028234663852886e38' : mode === ReduceMode.Prod ? '1.0' : '0.0';
  const step: Record<number, string> = {
    [ReduceMode.Mean]: 'acc + v', [ReduceMode.Sum]: 'acc + v', [ReduceMode.Max]: 'max(acc, v)', [ReduceMode.Min]: 'min(acc, v)',
    [ReduceMode.Prod]: 'acc * v', [ReduceMode.SumSquare]: 'acc + v * v', [ReduceMode.L2]: 'acc + v * v', [ReduceMode.ASum]: 'acc + abs(v)',
  };
  if (!(mode in step)) throw new Error(`ReduceFusion mode ${mode} has no WGSL kernel`);
  const base = inShape.map((_, k) => (axes.includes(k) ? '' : ` + c${k} * ${u(st[k])}`)).join('');
  const redOffset = axes.map((a, j) => ` + r${j} * ${u(st[a])}`).join('');
  const fin = mode === ReduceMode.Mean ? `acc / ${f(count)}` : mode === ReduceMode.L2 ? 'sqrt(acc)' : 'acc';
  const accumulate = (from: string, stride: string) => `
${coords(outFull)}
  let base = 0u${base};
  var acc = ${init};
  for (var j = ${from}; j < ${u(count)}; j = j + ${stride}) {
${coords(red, 'r', 'j')}
    let v = in0[base${redOffset}];
    acc = ${step[mode]};
  }`;
  if (count < 64 || previousKernels()) {
    const code = `${bindings(1)}
${mainLinear(total, `${accumulate('0u', '1u')}
  out[idx] = ${fin} * ${f(coeff || 1)};`)}`;
    return { code, dispatch: linearDispatch(total) };
  }
  // partial results combine as the step combines values, except that squares and absolute values are taken once
  const combine = mode === ReduceMode.Max ? 'max(a, b)' : mode === ReduceMode.Min ? 'min(a, b)' : mode === ReduceMode.Prod ? 'a * b' : 'a + b';
  const nx = Math.min(total, 65535);
  const code = `${bindings(1)}
var<workgroup> part: array<f32, 64>;
fn combine(a: f32, b: f32) -> f32 { return ${combine}; }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = wid.y * ${u(nx)} + wid.x;
  if (idx >= ${u(total)}) { return; }
${accumulate('lid', '64u')}
  part[lid] = acc;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half = half / 2u) {
    if (lid < half) { part[lid] = combine(part[lid], part[lid + half]); }
    workgroupBarrier();
  }
  if (lid == 0u) { let acc = part[0]; out[idx] = ${fin} * ${f(coeff || 1)}; }
}`;
  return { code, dispatch: [nx, Math.ceil(total / nx), 1] };
}

/** LayerNorm over rows of `len`: one thread per row; gamma/beta (length `affine`) repeat along the row. */
export function layerNorm(rows: number, len: number, eps: number, affine: number, hasBeta: boolean): Kernel {
  const code = `${bindings(affine ? (hasBeta ? 3 : 2) : 1)}
${mainLinear(rows, `
  let base = idx * ${u(len)};
  var mean = 0.0;
  for (var i = 0u; i < ${u(len)}; i = i + 1u) { mean = mean + in0[base + i]; }
  mean = mean / ${f(len)};
  var v = 0.0;
  for (var i = 0u; i < ${u(len)}; i = i + 1u) { let d = in0[base + i] - mean; v = v + d * d; }
  let inv = 1.0 / sqrt(v / ${f(len)} + ${f(eps)});
  for (var i = 0u; i < ${u(len)}; i = i + 1u) {
    out[base + i] = (in0[base + i] - mean) * inv${affine ? ` * in1[i % ${u(affine)}]` : ''}${hasBeta ? ` + in2[i % ${u(affine)}]` : ''};
  }`)}`;
  return { code, dispatch: linearDispatch(rows) };
}

/** Softmax along the middle dim of [outer, len, inner], or its logarithm. */
export function softmax(outer: number, len: number, inner: number, log = false): Kernel {
  if (inner === 1 && len >= 64) return softmaxRows(outer, len, log);
  const total = outer * inner;
  const code = `${bindings(1)}
${mainLinear(total, `
  let o = idx / ${u(inner)}; let i = idx % ${u(inner)};
  let base = o * ${u(len * inner)} + i;
  var m = -3.4028234663852886e38;
  for (var k = 0u; k < ${u(len)}; k = k + 1u) { m = max(m, in0[base + k * ${u(inner)}]); }
  var s = 0.0;
  for (var k = 0u; k < ${u(len)}; k = k + 1u) { s = s + exp(in0[base + k * ${u(inner)}] - m); }
  let ls = log(s);
  for (var k = 0u; k < ${u(len)}; k = k + 1u) { out[base + k * ${u(inner)}] = ${log ? `in0[base + k * ${u(inner)}] - m - ls` : `exp(in0[base + k * ${u(inner)}] - m) / s`}; }`)}`;
  return { code, dispatch: linearDispatch(total) };
}

/**
 * Softmax over long contiguous rows (class scores): one workgroup of 64 per row, each thread a strided share,
 * the row's max and sum reduced in workgroup memory — instead of one thread reading its row three times.
 */
function softmaxRows(outer: number, len: number, log: boolean): Kernel {
  const nx = Math.min(outer, 65535);
  const reduce = (op: string) => `
  for (var half = 32u; half > 0u; half = half / 2u) {
    if (lid < half) { red[lid] = ${op}; }
    workgroupBarrier();
  }`;
  const code = `${bindings(1)}
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * ${u(nx)} + wid.x;
  if (row >= ${u(outer)}) { return; }
  let base = row * ${u(len)};
  var m = -3.4028234663852886e38;
  for (var k = lid; k < ${u(len)}; k = k + 64u) { m = max(m, in0[base + k]); }
  red[lid] = m;
  workgroupBarrier();${reduce('max(red[lid], red[lid + half])')}
  let mx = red[0];
  workgroupBarrier();
  var s = 0.0;
  for (var k = lid; k < ${u(len)}; k = k + 64u) { s = s + exp(in0[base + k] - mx); }
  red[lid] = s;
  workgroupBarrier();${reduce('red[lid] + red[lid + half]')}
  let total = red[0];
  let ls = log(total);
  for (var k = lid; k < ${u(len)}; k = k + 64u) { out[base + k] = ${log ? 'in0[base + k] - mx - ls' : 'exp(in0[base + k] - mx) / total'}; }
}`;
  return { code, dispatch: [nx, Math.ceil(outer / nx), 1] };
}

/**
 * Data movement: out[idx] = in0[source(idx)], or a constant where the source is outside. `srcExpr` is WGSL
 * over output coordinates c0..; it returns an i32 offset, negative for "use `fill`".
 */
export function gatherBy(outShape: number[], srcExpr: string, fill = 0, outOffset = '', decls = ''): Kernel {
  const total = size(outShape);
  const code = `${bindings(1)}
${decls}
fn src(idx: u32) -> i32 {
${coords(outShape)}
  return ${srcExpr};
}
${mainLinear(total, `
  let s = src(idx);
  out[${outOffset || 'idx'}] = select(${f(fill)}, in0[max(s, 0)], s >= 0);`)}`;
  return { code, dispatch: linearDispatch(total) };
}

/** Source offset of a strided box (begin/step per dim) inside `inShape`. */
export function boxSource(inShape: number[], begin: number[], step: number[]): string {
  const st = stridesOf(inShape);
  return `i32(0${inShape.map((_, k) => ` + (${i(begin[k])} + i32(c${k}) * ${i(step[k])}) * ${i(st[k])}`).join('')})`;
}

export function transposeSource(inShape: number[], perm: number[]): string {
  const st = stridesOf(inShape);
  return `i32(0u${perm.map((p, k) => ` + c${k} * ${u(st[p])}`).join('')})`;
}

/** Copy of a whole input into a slice of the output along `axis` (one dispatch per Concat input). */
export function concatPart(inShape: number[], outShape: number[], axis: number, offset: number): Kernel {
  const total = size(inShape);
  // Everything from the axis on is one contiguous run per outer index, in the input and in the output.
  const after = size(inShape.slice(axis + 1));
  const inRun = inShape[axis] * after, outRun = outShape[axis] * after;
  // runs and the offset in fours (channels-last concats of real models): vec4 copies
  const lanes = inRun % 4 === 0 && outRun % 4 === 0 && (offset * after) % 4 === 0 && !previousKernels() ? 4 : 1;
  const code = `${bindings(1, '', lanes === 4 ? 'vec4f' : 'f32')}
${mainLinear(total / lanes, `
  let o = idx / ${u(inRun / lanes)};
  out[o * ${u(outRun / lanes)} + ${u((offset * after) / lanes)} + idx % ${u(inRun / lanes)}] = in0[idx];`)}`;
  return { code, dispatch: linearDispatch(total / lanes) };
}

/** Pad kernel with reflect/symmetric helpers per dim. */
export function pad(inShape: number[], outShape: number[], pads: number[], mode: number, value: number): Kernel {
  const st = stridesOf(inShape);
  const helpers = inShape.map((len, k) => {
    const body = mode === 0 ? 'return p;'
      : mode === 1 ? `if (p < 0) { return -p; } if (p >= ${i(len)}) { return ${i(2 * len - 2)} - p; } return p;`
        : `if (p < 0) { return -p - 1; } if (p >= ${i(len)}) { return ${i(2 * len - 1)} - p; } return p;`;
    return `fn pad_map${k}(p: i32) -> i32 { ${body} }`;
  }).join('\n');
  const total = size(outShape);
  const code = `${bindings(1)}
${helpers}
fn src(idx: u32) -> i32 {
${coords(outShape)}
${inShape.map((len, k) => `  let p${k} = pad_map${k}(i32(c${k}) - ${i(pads[2 * k])}); if (p${k} < 0 || p${k} >= ${i(len)}) { return -1; }`).join('\n')}
  return 0${inShape.map((_, k) => ` + p${k} * ${i(st[k])}`).join('')};
}
${mainLinear(total, `
  let s = src(idx);
  out[idx] = select(${f(value)}, in0[max(s, 0)], s >= 0);`)}`;
  return { code, dispatch: linearDispatch(total) };
}

/** Resize over the source-index tables of ir/resize-coords, baked as constants (the same taps as the CPU). */
export function resize(n: number, ih: number, iw: number, c: number, oh: number, ow: number, method: number, ctm: number, cubicCoeff = -0.75): Kernel {
  const total = n * oh * ow * c;
  const table = (name: string, type: 'u32' | 'f32', v: ArrayLike<number>) =>
    `const ${name} = array<${type}, ${v.length}>(${Array.from(v, (x) => (type === 'u32' ? u(x) : f(x))).join(', ')});`;
  let tables: string, body: string;
  if (method === ResizeMethod.NEAREST) {
    tables = [table('SY', 'u32', nearestSourceIndices(ctm, ih, oh)), table('SX', 'u32', nearestSourceIndices(ctm, iw, ow))].join('\n');
    body = `
  out[idx] = in0[((b * ${u(ih)} + SY[oy]) * ${u(iw)} + SX[ox]) * ${u(c)} + ch];`;
  } else if (method === ResizeMethod.CUBIC) {
    // Four rows of four column taps each, then the rows blended: the runtime's row-then-column order.
    const ty = cubicSourceTaps(ctm, ih, oh, cubicCoeff), tx = cubicSourceTaps(ctm, iw, ow, cubicCoeff);
    tables = [table('YI', 'u32', ty.index), table('YW', 'f32', ty.weight), table('XI', 'u32', tx.index), table('XW', 'f32', tx.weight)].join('\n');
    body = `
  var acc = 0.0;
  for (var k = 0u; k < 4u; k++) {
    let r = (b * ${u(ih)} + YI[4u * oy + k]) * ${u(iw)};
    var row = 0.0;
    for (var j = 0u; j < 4u; j++) { row += in0[(r + XI[4u * ox + j]) * ${u(c)} + ch] * XW[4u * ox + j]; }
    acc += row * YW[4u * oy + k];
  }
  out[idx] = acc;`;
  } else {
    const ty = linearSourceTaps(ctm, ih, oh), tx = linearSourceTaps(ctm, iw, ow);
    tables = [table('Y0', 'u32', ty.lo), table('Y1', 'u32', ty.hi), table('WY', 'f32', ty.loWeight),
      table('X0', 'u32', tx.lo), table('X1', 'u32', tx.hi), table('WX', 'f32', tx.loWeight)].join('\n');
    body = `
  let r0 = (b * ${u(ih)} + Y0[oy]) * ${u(iw)}; let r1 = (b * ${u(ih)} + Y1[oy]) * ${u(iw)};
  let wx = WX[ox]; let wy = WY[oy];
  let top = in0[(r0 + X0[ox]) * ${u(c)} + ch] * wx + in0[(r0 + X1[ox]) * ${u(c)} + ch] * (1.0 - wx);
  let bottom = in0[(r1 + X0[ox]) * ${u(c)} + ch] * wx + in0[(r1 + X1[ox]) * ${u(c)} + ch] * (1.0 - wx);
  out[idx] = top * wy + bottom * (1.0 - wy);`;
  }
  const code = `${bindings(1)}
${tables}
${mainLinear(total, `
  let ch = idx % ${u(c)}; let q = idx / ${u(c)};
  let ox = q % ${u(ow)}; let r = q / ${u(ow)};
  let oy = r % ${u(oh)}; let b = r / ${u(oh)};${body}`)}`;
  return { code, dispatch: linearDispatch(total) };
}


/** Re-exported literal helpers for lowering code that builds WGSL expressions. */
export { f as fl, u as uu, stridesOf as strides } from './common.js';
