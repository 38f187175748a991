// The CPU executor's hot kernels in AssemblyScript, compiled to WebAssembly with 128-bit SIMD
// (npm run build:wasm). Pointers are byte offsets into the imported memory; every tensor is float32 NHWC.
// The TypeScript kernels in src/cpu stay the reference the tests compare these with.

// Activation codes (MindSpore ActivationType) applied while storing: 0 none, 1 RELU, 3 RELU6; others are
// applied by the caller afterwards.
const RELU: i32 = 1;
const RELU6: i32 = 3;

@inline function act4(v: v128, act: i32): v128 {
  if (act == RELU) return f32x4.max(v, f32x4.splat(0));
  if (act == RELU6) return f32x4.min(f32x4.max(v, f32x4.splat(0)), f32x4.splat(6));
  return v;
}

@inline function ptr(base: usize, index: i32): usize {
  return base + ((index as usize) << 2);
}

/**
 * Weights [N, K] (row n holds the K inputs of output n) packed for the GEMM: panels of 8 outputs,
 * out[(n / 8) * K * 8 + k * 8 + n % 8], the last panel zero-padded.
 */
export function packWeights(w: usize, N: i32, K: i32, out: usize): void {
  const panels = (N + 7) >> 3;
  for (let p = 0; p < panels; p++)
    for (let k = 0; k < K; k++)
      for (let j = 0; j < 8; j++) {
        const n = p * 8 + j;
        store<f32>(ptr(out, (p * K + k) * 8 + j), n < N ? load<f32>(ptr(w, n * K + k)) : 0);
      }
}

/** Lane j of the 8 values v0 | v1 (j known only at run time: a panel's edge). */
@inline function lane(v0: v128, v1: v128, j: i32): f32 {
  switch (j) {
    case 0: return f32x4.extract_lane(v0, 0);
    case 1: return f32x4.extract_lane(v0, 1);
    case 2: return f32x4.extract_lane(v0, 2);
    case 3: return f32x4.extract_lane(v0, 3);
    case 4: return f32x4.extract_lane(v1, 0);
    case 5: return f32x4.extract_lane(v1, 1);
    case 6: return f32x4.extract_lane(v1, 2);
    default: return f32x4.extract_lane(v1, 3);
  }
}

/** The first `cols` floats at c as a vector (zero beyond); no scratch memory: threads share this memory. */
@inline function loadCols(c: usize, cols: i32, hi: bool): v128 {
  let v = f32x4.splat(0);
  const j0 = hi ? 4 : 0;
  if (cols > j0) v = f32x4.replace_lane(v, 0, load<f32>(ptr(c, j0)));
  if (cols > j0 + 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr(c, j0 + 1)));
  if (cols > j0 + 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr(c, j0 + 2)));
  if (cols > j0 + 3) v = f32x4.replace_lane(v, 3, load<f32>(ptr(c, j0 + 3)));
  return v;
}

/**
 * Stores 8 results (two vectors) to c; only `cols` of them at a panel's edge. `phase`: 0 the only K chunk,
 * 1 the first of several, 2 a middle one, 3 the last (partial sums are added to what c holds; bias and
 * activation come with the last).
 */
@inline function store8(c: usize, v0: v128, v1: v128, bias: usize, act: i32, cols: i32, phase: i32): void {
  if (phase >= 2) {
    v0 = f32x4.add(v0, cols == 8 ? v128.load(c) : loadCols(c, cols, false));
    v1 = f32x4.add(v1, cols == 8 ? v128.load(c, 16) : loadCols(c, cols, true));
  }
  if (phase == 1 || phase == 2) {
    bias = 0;
    act = 0;
  }
  if (bias) {
    v0 = f32x4.add(v0, v128.load(bias));
    v1 = f32x4.add(v1, v128.load(bias, 16));
  }
  v0 = act4(v0, act);
  v1 = act4(v1, act);
  if (cols == 8) {
    v128.store(c, v0);
    v128.store(c, v1, 16);
    return;
  }
  for (let j = 0; j < cols; j++) store<f32>(ptr(c, j), lane(v0, v1, j));
}

/**
 * acc + x * y: one fused multiply-add, rounded once, in the relaxed-SIMD build (`f32x4.relaxed_madd`, FMA where
 * the CPU has it); a multiply and an add in the baseline build.
 */
@inline function madd(x: v128, y: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, acc);
  return f32x4.add(acc, f32x4.mul(x, y));
}

/** 4 rows x one 8-output panel: 8 vector accumulators, each A value broadcast once per k. */
@inline function kernel4x8(a: usize, lda: i32, bp: usize, K: i32, c: usize, ldc: i32, bias: usize, act: i32, cols: i32, phase: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const a1 = ptr(a, lda), a2 = ptr(a1, lda), a3 = ptr(a2, lda);
  for (let k = 0; k < K; k++) {
    const off = (k as usize) << 2;
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    bp += 32;
    const x0 = f32x4.splat(load<f32>(a + off));
    c00 = madd(x0, b0, c00);
    c01 = madd(x0, b1, c01);
    const x1 = f32x4.splat(load<f32>(a1 + off));
    c10 = madd(x1, b0, c10);
    c11 = madd(x1, b1, c11);
    const x2 = f32x4.splat(load<f32>(a2 + off));
    c20 = madd(x2, b0, c20);
    c21 = madd(x2, b1, c21);
    const x3 = f32x4.splat(load<f32>(a3 + off));
    c30 = madd(x3, b0, c30);
    c31 = madd(x3, b1, c31);
  }
  store8(c, c00, c01, bias, act, cols, phase);
  store8(ptr(c, ldc), c10, c11, bias, act, cols, phase);
  store8(ptr(c, 2 * ldc), c20, c21, bias, act, cols, phase);
  store8(ptr(c, 3 * ldc), c30, c31, bias, act, cols, phase);
}

@inline function kernel1x8(a: usize, bp: usize, K: i32, c: usize, bias: usize, act: i32, cols: i32, phase: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const x = f32x4.splat(load<f32>(ptr(a, k)));
    c0 = madd(x, v128.load(bp), c0);
    c1 = madd(x, v128.load(bp, 16), c1);
    bp += 32;
  }
  store8(c, c0, c1, bias, act, cols, phase);
}

/**
 * C[m, n] = act(sum_k A[m, k] * W[n, k] + bias[n]) for rows m0 <= m < m1, W packed by packWeights. `bias` is 0
 * or N floats padded to a multiple of 8.
 */
export function gemm(m0: i32, m1: i32, N: i32, K: i32, a: usize, lda: i32, packed: usize, bias: usize, c: usize, ldc: i32, act: i32): void {
  const panels = (N + 7) >> 3;
  // Row tiles small enough that their A rows stay in cache while every panel passes over them.
  const tile = 64;
  // K in chunks whose partial sums are added up: float32 rounding then grows with the chunk count plus the
  // chunk length, not with K (closer to a double-precision sum for deep layers).
  const KC = 256;
  for (let t = m0; t < m1; t += tile) {
    const tEnd = min(t + tile, m1);
    for (let p = 0; p < panels; p++) {
      const cols = min(8, N - p * 8);
      const bb = bias ? ptr(bias, p * 8) : 0;
      for (let k0 = 0; k0 < K; k0 += KC) {
        const kn = min(KC, K - k0);
        const phase = kn == K ? 0 : k0 == 0 ? 1 : k0 + kn == K ? 3 : 2;
        const bp = packed + (((((p * K) as usize) + (k0 as usize)) * 8) << 2);
        let m = t;
        for (; m + 4 <= tEnd; m += 4) kernel4x8(ptr(a, m * lda + k0), lda, bp, kn, ptr(c, m * ldc + p * 8), ldc, bb, act, cols, phase);
        for (; m < tEnd; m++) kernel1x8(ptr(a, m * lda + k0), bp, kn, ptr(c, m * ldc + p * 8), bb, act, cols, phase);
      }
    }
  }
}

/**
 * im2col rows for output pixels p0 <= p < p1 of sample `b` (group `g`): row (p - p0) holds the KH*KW*Cg inputs
 * the pixel's window reads, zero outside the image.
 */
export function im2col(x: usize, ih: i32, iw: i32, ic: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  pt: i32, pl: i32, c0: i32, cg: i32, b: i32, p0: i32, p1: i32, col: usize): void {
  let q = col;
  const rowBytes = (cg as usize) << 2;
  for (let p = p0; p < p1; p++) {
    const oy = p / ow, ox = p % ow;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky * dh;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * sw - pl + kx * dw;
        const inside = iy >= 0 && iy < ih && ix >= 0 && ix < iw;
        if (cg <= 16) {
          // a few channels (a first layer): a plain loop beats memory.copy's call
          if (inside) {
            const src = ptr(x, ((b * ih + iy) * iw + ix) * ic + c0);
            for (let c = 0; c < cg; c++) store<f32>(ptr(q, c), load<f32>(ptr(src, c)));
          } else for (let c = 0; c < cg; c++) store<f32>(ptr(q, c), 0);
        } else if (inside) memory.copy(q, ptr(x, ((b * ih + iy) * iw + ix) * ic + c0), rowBytes);
        else memory.fill(q, 0, rowBytes);
        q += rowBytes;
      }
    }
  }
}

/**
 * A convolution's output pixels p0 <= p < p1 of sample `b`, group `g` (input channels c0 .. c0 + cg): im2col
 * of `tile` pixels at a time into `col` (tile * K floats, this thread's own), then the GEMM with the packed
 * weights, written at out + p * ldc. `direct` (1x1, stride 1, no padding): the input rows are the GEMM's rows.
 */
export function convTiles(x: usize, ih: i32, iw: i32, ic: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  pt: i32, pl: i32, c0: i32, cg: i32, b: i32, p0: i32, p1: i32, col: usize, tile: i32, direct: i32,
  packed: usize, N: i32, bias: usize, out: usize, ldc: i32, act: i32): void {
  const K = kh * kw * cg;
  if (direct) {
    gemm(p0, p1, N, K, ptr(x, b * ih * iw * ic + c0), ic, packed, bias, out, ldc, act);
    return;
  }
  for (let t = p0; t < p1; t += tile) {
    const t1 = min(p1, t + tile);
    im2col(x, ih, iw, ic, ow, kh, kw, sh, sw, dh, dw, pt, pl, c0, cg, b, t, t1, col);
    gemm(0, t1 - t, N, K, col, K, packed, bias, ptr(out, t * ldc), ldc, act);
  }
}

/** The accumulator of channels c..c+3 at the start of a depthwise window: the bias, or zero. */
@inline function biasOrZero(bias: usize, c: i32): v128 {
  return bias ? v128.load(ptr(bias, c)) : f32x4.splat(0);
}

/**
 * Depthwise convolution (multiplier 1) on NHWC for output rows oy0 <= oy < oy1 of every sample. Per output
 * pixel, sixteen channels at a time (then four, then one) are summed in registers over the window's taps in
 * (ky, kx) order, starting from the bias, and stored once with the activation: the same operations in the same
 * order as a running sum in memory, without reloading it per tap. Taps outside the image are skipped. Weights
 * are [KH*KW, C] (tap-major, repacked by the caller).
 */
export function depthwise(x: usize, n: i32, ih: i32, iw: i32, C: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  dh: i32, dw: i32, pt: i32, pl: i32, w: usize, bias: usize, out: usize, act: i32, oy0: i32, oy1: i32): void {
  const c4 = C & ~3, c16 = C & ~15;
  for (let b = 0; b < n; b++)
    for (let oy = oy0; oy < oy1; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const dst = ptr(out, ((b * oh + oy) * ow + ox) * C);
        const iy0 = oy * sh - pt, ix0 = ox * sw - pl;
        let c = 0;
        for (; c < c16; c += 16) {
          let a0 = biasOrZero(bias, c), a1 = biasOrZero(bias, c + 4), a2 = biasOrZero(bias, c + 8), a3 = biasOrZero(bias, c + 12);
          for (let ky = 0; ky < kh; ky++) {
            const iy = iy0 + ky * dh;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx * dw;
              if (ix < 0 || ix >= iw) continue;
              const src = ptr(x, ((b * ih + iy) * iw + ix) * C + c), wt = ptr(w, (ky * kw + kx) * C + c);
              a0 = madd(v128.load(src), v128.load(wt), a0);
              a1 = madd(v128.load(src, 16), v128.load(wt, 16), a1);
              a2 = madd(v128.load(src, 32), v128.load(wt, 32), a2);
              a3 = madd(v128.load(src, 48), v128.load(wt, 48), a3);
            }
          }
          v128.store(ptr(dst, c), act4(a0, act));
          v128.store(ptr(dst, c), act4(a1, act), 16);
          v128.store(ptr(dst, c), act4(a2, act), 32);
          v128.store(ptr(dst, c), act4(a3, act), 48);
        }
        for (; c < c4; c += 4) {
          let a = biasOrZero(bias, c);
          for (let ky = 0; ky < kh; ky++) {
            const iy = iy0 + ky * dh;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx * dw;
              if (ix < 0 || ix >= iw) continue;
              a = madd(v128.load(ptr(x, ((b * ih + iy) * iw + ix) * C + c)), v128.load(ptr(w, (ky * kw + kx) * C + c)), a);
            }
          }
          v128.store(ptr(dst, c), act4(a, act));
        }
        for (; c < C; c++) {
          let v: f32 = bias ? load<f32>(ptr(bias, c)) : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = iy0 + ky * dh;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx * dw;
              if (ix < 0 || ix >= iw) continue;
              v = v + load<f32>(ptr(x, ((b * ih + iy) * iw + ix) * C + c)) * load<f32>(ptr(w, (ky * kw + kx) * C + c));
            }
          }
          if (act == RELU || act == RELU6) {
            v = max<f32>(v, 0);
            if (act == RELU6) v = min<f32>(v, 6);
          }
          store<f32>(ptr(dst, c), v);
        }
      }
}

/** Max (isMax) or average (padding excluded) pooling on NHWC for output rows oy0 <= oy < oy1, vectorised over channels. */
export function pool(x: usize, n: i32, ih: i32, iw: i32, C: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  pt: i32, pl: i32, isMax: i32, out: usize, oy0: i32, oy1: i32): void {
  const c4 = C & ~3;
  for (let b = 0; b < n; b++)
    for (let oy = oy0; oy < oy1; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const y0 = max(oy * sh - pt, 0), y1 = min(oy * sh - pt + kh, ih);
        const x0 = max(ox * sw - pl, 0), x1 = min(ox * sw - pl + kw, iw);
        const dst = ptr(out, ((b * oh + oy) * ow + ox) * C);
        const inv: f32 = 1 / <f32>((y1 - y0) * (x1 - x0));
        for (let c = 0; c < c4; c += 4) {
          let acc = isMax ? f32x4.splat(-Infinity) : f32x4.splat(0);
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) {
              const v = v128.load(ptr(x, ((b * ih + iy) * iw + ix) * C + c));
              acc = isMax ? f32x4.max(acc, v) : f32x4.add(acc, v);
            }
          v128.store(ptr(dst, c), isMax ? acc : f32x4.mul(acc, f32x4.splat(inv)));
        }
        for (let c = c4; c < C; c++) {
          let acc: f32 = isMax ? -Infinity : 0;
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) {
              const v = load<f32>(ptr(x, ((b * ih + iy) * iw + ix) * C + c));
              acc = isMax ? max<f32>(acc, v) : acc + v;
            }
          store<f32>(ptr(dst, c), isMax ? acc : acc * inv);
        }
      }
}

/** Max pooling of int8 NHWC data (the int8 executor's MaxPool): 16 channels per vector, output rows oy0..oy1. */
export function poolMaxI8(x: usize, n: i32, ih: i32, iw: i32, C: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  pt: i32, pl: i32, out: usize, oy0: i32, oy1: i32): void {
  const c16 = C & ~15;
  for (let b = 0; b < n; b++)
    for (let oy = oy0; oy < oy1; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const y0 = max(oy * sh - pt, 0), y1 = min(oy * sh - pt + kh, ih);
        const x0 = max(ox * sw - pl, 0), x1 = min(ox * sw - pl + kw, iw);
        const dst = out + (((b * oh + oy) * ow + ox) * C as usize);
        for (let c = 0; c < c16; c += 16) {
          let acc = i8x16.splat(-128);
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) acc = i8x16.max_s(acc, v128.load(x + (((b * ih + iy) * iw + ix) * C + c as usize)));
          v128.store(dst + c, acc);
        }
        for (let c = c16; c < C; c++) {
          let acc: i32 = -128;
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) acc = max<i32>(acc, load<i8>(x + (((b * ih + iy) * iw + ix) * C + c as usize)));
          store<i8>(dst + c, acc as i8);
        }
      }
}

// ---- int8 (the int8 executor): int16 operands (int8 minus zero point), int32 accumulators, exact ----

/**
 * int16 weights [N, K] packed for gemmI16: per 8-output panel and pair of k, the pairs (w[n][2k], w[n][2k+1])
 * of outputs 0..3 then 4..7 (two vectors); K is padded to even with zeros, the last panel with zero outputs.
 */
export function packWeightsI16(w: usize, N: i32, K: i32, out: usize): void {
  const pairs = (K + 1) >> 1, panels = (N + 7) >> 3;
  let q = out;
  for (let p = 0; p < panels; p++)
    for (let k2 = 0; k2 < pairs; k2++)
      for (let j = 0; j < 8; j++) {
        const n = p * 8 + j;
        for (let e = 0; e < 2; e++) {
          const k = 2 * k2 + e;
          store<i16>(q, n < N && k < K ? load<i16>(w + (((n * K + k) as usize) << 1)) : 0);
          q += 2;
        }
      }
}

@inline function pair(a: usize, k2: i32): v128 {
  return i32x4.splat(load<i32>(a + ((k2 as usize) << 2)));
}

/** acc[m, n] = sum_k a[m, k] * w[n, k] (int32, exact) for rows m0..m1; a rows of `lda` int16 (even, zero-padded). */
export function gemmI16(m0: i32, m1: i32, N: i32, K: i32, a: usize, lda: i32, packed: usize, acc: usize, ldc: i32): void {
  const pairs = (K + 1) >> 1, panels = (N + 7) >> 3;
  const rowBytes = (lda as usize) << 1;
  for (let p = 0; p < panels; p++) {
    const cols = min(8, N - p * 8);
    const bp0 = packed + (((p * pairs) as usize) << 5);
    let m = m0;
    for (; m + 4 <= m1; m += 4) {
      const a0 = a + (m as usize) * rowBytes, a1 = a0 + rowBytes, a2 = a1 + rowBytes, a3 = a2 + rowBytes;
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
      let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
      let bp = bp0;
      for (let k2 = 0; k2 < pairs; k2++) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16);
        bp += 32;
        let x = pair(a0, k2);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x, b0)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, b1));
        x = pair(a1, k2);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x, b0)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x, b1));
        x = pair(a2, k2);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x, b0)); c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x, b1));
        x = pair(a3, k2);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x, b0)); c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x, b1));
      }
      storeI32(ptr(acc, m * ldc + p * 8), c00, c01, cols);
      storeI32(ptr(acc, (m + 1) * ldc + p * 8), c10, c11, cols);
      storeI32(ptr(acc, (m + 2) * ldc + p * 8), c20, c21, cols);
      storeI32(ptr(acc, (m + 3) * ldc + p * 8), c30, c31, cols);
    }
    for (; m < m1; m++) {
      const a0 = a + (m as usize) * rowBytes;
      let c0 = i32x4.splat(0), c1 = i32x4.splat(0);
      let bp = bp0;
      for (let k2 = 0; k2 < pairs; k2++) {
        const x = pair(a0, k2);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, v128.load(bp)));
        c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, v128.load(bp, 16)));
        bp += 32;
      }
      storeI32(ptr(acc, m * ldc + p * 8), c0, c1, cols);
    }
  }
}

@inline function storeI32(c: usize, v0: v128, v1: v128, cols: i32): void {
  if (cols == 8) {
    v128.store(c, v0);
    v128.store(c, v1, 16);
    return;
  }
  for (let j = 0; j < cols; j++) {
    const v = j < 4 ? v0 : v1, l = j & 3;
    store<i32>(ptr(c, j), l == 0 ? i32x4.extract_lane(v, 0) : l == 1 ? i32x4.extract_lane(v, 1) : l == 2 ? i32x4.extract_lane(v, 2) : i32x4.extract_lane(v, 3));
  }
}

/** im2col of int16 data (rows of `ldk` values, K = KH*KW*cg padded with zeros = the zero point's real 0). */
export function im2colI16(x: usize, xZp: i32, ih: i32, iw: i32, ic: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  pt: i32, pl: i32, c0: i32, cg: i32, b: i32, p0: i32, p1: i32, col: usize, ldk: i32): void {
  const zp = i16x8.splat(<i16>xZp), c8 = cg & ~7;
  for (let p = p0; p < p1; p++) {
    const oy = p / ow, ox = p % ow;
    let q = col + (((p - p0) * ldk) as usize << 1);
    const rowEnd = q + ((ldk as usize) << 1);
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky * dh;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * sw - pl + kx * dw;
        if (iy >= 0 && iy < ih && ix >= 0 && ix < iw) {
          // int8 minus the zero point, widened to int16: eight at a time, then the rest
          const src = x + ((((b * ih + iy) * iw + ix) * ic + c0) as usize);
          let c = 0;
          for (; c < c8; c += 8) v128.store(q + ((c as usize) << 1), i16x8.sub(v128.load8x8_s(src + (c as usize)), zp));
          for (; c < cg; c++) store<i16>(q + ((c as usize) << 1), <i16>(load<i8>(src + (c as usize)) - xZp));
        } else memory.fill(q, 0, (cg as usize) << 1); // padding is the zero point: 0 once centered
        q += (cg as usize) << 1;
      }
    }
    if (q < rowEnd) memory.fill(q, 0, rowEnd - q);
  }
}

/** The int8 conv's output pixels p0..p1 (im2col by tiles into `col`, then gemmI16 into acc rows p0..p1); x is int8. */
export function convTilesI16(x: usize, xZp: i32, ih: i32, iw: i32, ic: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  pt: i32, pl: i32, c0: i32, cg: i32, b: i32, p0: i32, p1: i32, col: usize, tile: i32, packed: usize, N: i32, acc: usize, ldc: i32): void {
  const K = kh * kw * cg, ldk = (K + 1) & ~1;
  for (let t = p0; t < p1; t += tile) {
    const t1 = min(p1, t + tile);
    im2colI16(x, xZp, ih, iw, ic, ow, kh, kw, sh, sw, dh, dw, pt, pl, c0, cg, b, t, t1, col, ldk);
    gemmI16(0, t1 - t, N, K, col, ldk, packed, ptr(acc, t * ldc), ldc);
  }
}

/**
 * convTilesI16 for one group, each tile requantized to int8 as soon as it is summed (its int32 sums stay in the
 * `acc` scratch of tile x N words, hot in cache). `spec` holds the requantize arguments as words: bias, mult,
 * leftPow, rshift, rmask (pointers), zp, lo, hi, flags, eBase, stages; `out` is this image's int8 [M, N].
 */
export function convRequantI16(x: usize, xZp: i32, ih: i32, iw: i32, ic: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  pt: i32, pl: i32, b: i32, p0: i32, p1: i32, col: usize, tile: i32, packed: usize, N: i32, acc: usize, spec: usize, out: usize): void {
  const K = kh * kw * ic, ldk = (K + 1) & ~1;
  for (let t = p0; t < p1; t += tile) {
    const t1 = min(p1, t + tile);
    im2colI16(x, xZp, ih, iw, ic, ow, kh, kw, sh, sw, dh, dw, pt, pl, 0, ic, b, t, t1, col, ldk);
    gemmI16(0, t1 - t, N, K, col, ldk, packed, acc, N);
    requantize(acc, t1 - t, N, load<i32>(spec), load<i32>(spec, 4), load<i32>(spec, 8), load<i32>(spec, 12), load<i32>(spec, 16),
      load<i32>(spec, 20), load<i32>(spec, 24), load<i32>(spec, 28), out + <usize>(t * N), load<i32>(spec, 32), load<i32>(spec, 36), load<i32>(spec, 40));
  }
}

/**
 * int8 depthwise convolution sums (one filter per channel): out rows oy0..oy1 of every sample, int32 [pixels, C]
 * into `acc` for `requantize`. Eight channels a step: the input minus its zero point and the centered weights
 * (int16 [taps][C], made once per layer) multiplied by extending multiplies into two int32 vectors; taps outside
 * the image are skipped (they would add zero). The tail channels one by one.
 */
export function depthwiseI8(x: usize, xZp: i32, n: i32, ih: i32, iw: i32, C: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  dh: i32, dw: i32, pt: i32, pl: i32, w: usize, acc: usize, oy0: i32, oy1: i32): void {
  const c8 = C & ~7;
  const zp = i16x8.splat(<i16>xZp);
  for (let b = 0; b < n; b++)
    for (let oy = oy0; oy < oy1; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const out = acc + ((<usize>(((b * oh + oy) * ow + ox) * C)) << 2);
        for (let c = 0; c < c8; c += 8) {
          let lo = i32x4.splat(0), hi = i32x4.splat(0);
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= iw) continue;
              const xv = i16x8.sub(i16x8.extend_low_i8x16_s(v128.load64_zero(x + <usize>(((b * ih + iy) * iw + ix) * C + c))), zp);
              const wv = v128.load(w + ((<usize>((ky * kw + kx) * C + c)) << 1));
              lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(xv, wv));
              hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(xv, wv));
            }
          }
          v128.store(out + ((<usize>c) << 2), lo);
          v128.store(out + ((<usize>c) << 2), hi, 16);
        }
        for (let c = c8; c < C; c++) {
          let s = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= ih) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= iw) continue;
              s += (<i32>load<i8>(x + <usize>(((b * ih + iy) * iw + ix) * C + c)) - xZp) * <i32>load<i16>(w + ((<usize>((ky * kw + kx) * C + c)) << 1));
            }
          }
          store<i32>(out + ((<usize>c) << 2), s);
        }
      }
}

/** One int32 (+ bias) -> int8 requantization, the scalar definition the vector path below must equal. */
function requantizeOne(acc: i32, bias: i32, m: i32, leftPow: i32, e: i32, zp: i32, lo: i32, hi: i32): i8 {
  const v = <i64>acc + <i64>bias;
  const x = <i32>(v > 2147483647 ? 2147483647 : v < -2147483648 ? -2147483648 : v);
  const shifted = x * leftPow;
  let high: i32;
  if (shifted == -2147483648 && m == -2147483648) high = 2147483647;
  else {
    const ab = <i64>shifted * <i64>m;
    const nudge: i64 = ab >= 0 ? (1 << 30) : 1 - (1 << 30);
    // (ab + nudge) / 2^31 truncated toward zero, by shifts (a 64-bit division costs tens of cycles)
    const t = ab + nudge;
    high = <i32>(t >= 0 ? t >> 31 : -((-t) >> 31));
  }
  let y = high;
  if (e > 0) {
    const mask = (1 << e) - 1, rem = high & mask, threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    y = (high >> e) + (rem > threshold ? 1 : 0);
  }
  // clamped before the zero point is added, so that a saturated INT32_MAX cannot wrap (the TypeScript kernels
  // add in double)
  const yLo = lo - zp, yHi = hi - zp;
  return <i8>((y < yLo ? yLo : y > yHi ? yHi : y) + zp);
}

/**
 * The Q31 high product of two i64 lanes, low 32 bits: (ab + nudge) / 2^31 truncated toward zero equals
 * floor((ab + 2^30) / 2^31) for either sign of ab (for ab < 0 the truncation adds 2^31 - 1 to the nudge
 * 1 - 2^30), and those bits of a logical shift are the arithmetic shift's.
 */
@inline
function highMul64(ab: v128): v128 {
  return i64x2.shr_u(i64x2.add(ab, i64x2.splat(1 << 30)), 31);
}

/** Where the requantization may skip work, for a whole call (flags of `requantize`). */
const BIAS_MAY_OVERFLOW = 1, LEFT_SHIFTS = 2, MULTIPLIER_INT32_MIN = 4;

/** x >> (eBase + d) per lane (arithmetic): one shift by eBase, then a conditional shift per bit of d (d < 2^stages). */
@inline
function shiftRightLanes(x: v128, d: v128, eBase: i32, stages: i32): v128 {
  const zero = i32x4.splat(0);
  x = i32x4.shr_s(x, eBase);
  if (stages > 0) x = v128.bitselect(i32x4.shr_s(x, 1), x, i32x4.ne(v128.and(d, i32x4.splat(1)), zero));
  if (stages > 1) x = v128.bitselect(i32x4.shr_s(x, 2), x, i32x4.ne(v128.and(d, i32x4.splat(2)), zero));
  if (stages > 2) x = v128.bitselect(i32x4.shr_s(x, 4), x, i32x4.ne(v128.and(d, i32x4.splat(4)), zero));
  if (stages > 3) x = v128.bitselect(i32x4.shr_s(x, 8), x, i32x4.ne(v128.and(d, i32x4.splat(8)), zero));
  if (stages > 4) x = v128.bitselect(i32x4.shr_s(x, 16), x, i32x4.ne(v128.and(d, i32x4.splat(16)), zero));
  return x;
}

/** Four channels n..n+3 of one row: requantized, clamped, plus the zero point, still as int32 lanes. */
@inline
function requantize4(row: usize, n: i32, bias: usize, mult: usize, leftPow: usize, rshift: usize, rmask: usize,
  zpv: v128, lov: v128, hiv: v128, flags: i32, eBase: i32, stages: i32): v128 {
  const intMin = i32x4.splat(-2147483648), intMax = i32x4.splat(2147483647);
  let x = v128.load(row + ((<usize>n) << 2));
  if (bias) {
    const b = v128.load(ptr(bias, n)), sum = i32x4.add(x, b);
    if (flags & BIAS_MAY_OVERFLOW) {
      // int32 addition saturated as the scalar code's 64-bit sum clamped to int32
      const overflow = i32x4.lt_s(v128.and(v128.xor(x, sum), v128.xor(b, sum)), i32x4.splat(0));
      x = v128.bitselect(v128.xor(i32x4.shr_s(x, 31), intMax), sum, overflow);
    } else x = sum;
  }
  const m = v128.load(ptr(mult, n));
  const shifted = flags & LEFT_SHIFTS ? i32x4.mul(x, v128.load(ptr(leftPow, n))) : x;
  const lowHalf = highMul64(i64x2.extmul_low_i32x4_s(shifted, m)), highHalf = highMul64(i64x2.extmul_high_i32x4_s(shifted, m));
  let high = i8x16.shuffle(lowHalf, highHalf, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  if (flags & MULTIPLIER_INT32_MIN) high = v128.bitselect(intMax, high, v128.and(i32x4.eq(shifted, intMin), i32x4.eq(m, intMin)));
  // RoundingDivideByPOT: floor(high / 2^e), plus one when the remainder exceeds half (ties away from zero)
  const mask = v128.load(ptr(rmask, n));
  const threshold = i32x4.add(i32x4.shr_u(mask, 1), i32x4.shr_u(high, 31));
  const d = i32x4.sub(v128.load(ptr(rshift, n)), i32x4.splat(eBase));
  const y = i32x4.sub(shiftRightLanes(high, d, eBase, stages), i32x4.gt_s(v128.and(high, mask), threshold));
  return i32x4.add(i32x4.min_s(i32x4.max_s(y, lov), hiv), zpv);
}

/**
 * int32 accumulators (+ bias) -> int8 as MindSpore Lite's runtime requantizes: x * 2^left (wrapping), the Q31
 * SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, + zero point, clamped to [lo, hi]. Per-channel
 * multiplier, 2^left, right shift and 2^right - 1 (int32 arrays of N). Four channels at a time in SIMD, sixteen
 * narrowed and stored together: the 64-bit products by extending multiplies, the per-lane right shift as one
 * shift by eBase (the smallest right shift) and `stages` conditional shifts; the scalar definition for the tail.
 * `flags` says which corners the call can meet (BIAS_MAY_OVERFLOW, LEFT_SHIFTS, MULTIPLIER_INT32_MIN); the
 * others are skipped.
 */
export function requantize(acc: usize, rows: i32, N: i32, bias: usize, mult: usize, leftPow: usize, rshift: usize, rmask: usize, zp: i32, lo: i32, hi: i32,
  out: usize, flags: i32, eBase: i32, stages: i32): void {
  const n4 = N & ~3, n16 = N & ~15;
  const zpv = i32x4.splat(zp), lov = i32x4.splat(lo - zp), hiv = i32x4.splat(hi - zp);
  for (let r = 0; r < rows; r++) {
    const row = acc + ((<usize>(r * N)) << 2), dst = out + <usize>(r * N);
    let n = 0;
    for (; n < n16; n += 16) {
      const y0 = requantize4(row, n, bias, mult, leftPow, rshift, rmask, zpv, lov, hiv, flags, eBase, stages);
      const y1 = requantize4(row, n + 4, bias, mult, leftPow, rshift, rmask, zpv, lov, hiv, flags, eBase, stages);
      const y2 = requantize4(row, n + 8, bias, mult, leftPow, rshift, rmask, zpv, lov, hiv, flags, eBase, stages);
      const y3 = requantize4(row, n + 12, bias, mult, leftPow, rshift, rmask, zpv, lov, hiv, flags, eBase, stages);
      v128.store(dst + <usize>n, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(y0, y1), i16x8.narrow_i32x4_s(y2, y3)));
    }
    for (; n < n4; n += 4) {
      const y = requantize4(row, n, bias, mult, leftPow, rshift, rmask, zpv, lov, hiv, flags, eBase, stages);
      store<i32>(dst + <usize>n, i32x4.extract_lane(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(y, y), i16x8.splat(0)), 0));
    }
    for (; n < N; n++)
      store<i8>(dst + <usize>n, requantizeOne(load<i32>(row + ((<usize>n) << 2)), bias ? load<i32>(ptr(bias, n)) : 0, load<i32>(ptr(mult, n)),
        load<i32>(ptr(leftPow, n)), load<i32>(ptr(rshift, n)), zp, lo, hi));
  }
}

/**
 * QuantDTypeCast float32 -> int8 as the runtime: round(fround(fround(x * inverseScale) + zp)) with C's round
 * (half away from zero, taken in double), clamped; +-Infinity to the ends, NaN to -128.
 */
export function quantizeF32(x: usize, count: i32, inverseScale: f32, zp: f32, out: usize): void {
  for (let i = 0; i < count; i++) {
    const v = load<f32>(ptr(x, i));
    let r: f64;
    if (v != v) r = -128;
    else {
      const t = <f64>(v * inverseScale + zp);
      r = t < 0 ? -Math.floor(-t + 0.5) : Math.floor(t + 0.5);
    }
    store<i8>(out + <usize>i, <i8>(r < -128 ? -128 : r > 127 ? 127 : r));
  }
}

/** QuantDTypeCast int8 -> float32: (q - zp) * scale in float. */
export function dequantizeI8(q: usize, count: i32, scale: f32, zp: i32, out: usize): void {
  for (let i = 0; i < count; i++) store<f32>(ptr(out, i), <f32>(load<i8>(q + <usize>i) - zp) * scale);
}

// ---- calibration statistics (the CPU collector), equal to the TypeScript loops of quant/stats.ts ----

/**
 * min and max of the finite values of x, and how many are NaN and how many infinite: out[0..3] = min, max (f32),
 * NaN count, Inf count (i32). min / max start at +Inf / -Inf (no finite value leaves them so).
 */
export function minMaxF32(x: usize, count: i32, out: usize): void {
  const inf = f32x4.splat(Infinity);
  let lo = inf, hi = f32x4.splat(-Infinity), nans = i32x4.splat(0), infs = i32x4.splat(0);
  const c4 = count & ~3;
  for (let i = 0; i < c4; i += 4) {
    const v = v128.load(ptr(x, i));
    const a = f32x4.abs(v);
    const finite = f32x4.lt(a, inf); // false for NaN and +-Inf
    nans = i32x4.sub(nans, f32x4.ne(v, v));
    infs = i32x4.sub(infs, f32x4.eq(a, inf));
    lo = f32x4.pmin(lo, v128.bitselect(v, inf, finite));
    hi = f32x4.pmax(hi, v128.bitselect(v, f32x4.neg(inf), finite));
  }
  let mn = min<f32>(min<f32>(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1)), min<f32>(f32x4.extract_lane(lo, 2), f32x4.extract_lane(lo, 3)));
  let mx = max<f32>(max<f32>(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1)), max<f32>(f32x4.extract_lane(hi, 2), f32x4.extract_lane(hi, 3)));
  let n = i32x4.extract_lane(nans, 0) + i32x4.extract_lane(nans, 1) + i32x4.extract_lane(nans, 2) + i32x4.extract_lane(nans, 3);
  let f = i32x4.extract_lane(infs, 0) + i32x4.extract_lane(infs, 1) + i32x4.extract_lane(infs, 2) + i32x4.extract_lane(infs, 3);
  for (let i = c4; i < count; i++) {
    const v = load<f32>(ptr(x, i));
    if (v != v) n++;
    else if (abs<f32>(v) == Infinity) f++;
    else {
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
  }
  store<f32>(out, mn);
  store<f32>(out, mx, 4);
  store<i32>(out, n, 8);
  store<i32>(out, f, 12);
}

/**
 * Counts |x| into bins of `interval` (MindSpore's DataDistribution: the quotient in float32, floored, clamped to
 * the last of `bins`); NaN, +-Inf and |x| <= DBL_EPSILON are skipped. hist: four copies of `bins + 1` int32
 * counters, lane j counting into copy j and skipped values into each copy's extra counter, so that no branch
 * depends on the data and neighbouring equal bins do not wait on each other's increments; the caller adds the
 * copies up.
 */
export function histogramF32(x: usize, count: i32, interval: f32, bins: i32, hist: usize): void {
  const c4 = count & ~3;
  const inv = f32x4.splat(interval), eps = f32x4.splat(<f32>2.220446049250313e-16), inf = f32x4.splat(Infinity);
  const last = i32x4.splat(bins - 1), skip = i32x4.splat(bins);
  const stride = (<usize>(bins + 1)) << 2;
  const h0 = hist, h1 = h0 + stride, h2 = h1 + stride, h3 = h2 + stride;
  for (let i = 0; i < c4; i += 4) {
    const a = f32x4.abs(v128.load(ptr(x, i)));
    const counted = v128.and(f32x4.lt(a, inf), f32x4.gt(a, eps)); // false for NaN, Inf, tiny
    const bin = i32x4.shl(v128.bitselect(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.div(a, inv)), last), skip, counted), 2);
    let p = h0 + <usize>i32x4.extract_lane(bin, 0);
    store<i32>(p, load<i32>(p) + 1);
    p = h1 + <usize>i32x4.extract_lane(bin, 1);
    store<i32>(p, load<i32>(p) + 1);
    p = h2 + <usize>i32x4.extract_lane(bin, 2);
    store<i32>(p, load<i32>(p) + 1);
    p = h3 + <usize>i32x4.extract_lane(bin, 3);
    store<i32>(p, load<i32>(p) + 1);
  }
  for (let i = c4; i < count; i++) {
    const a = abs<f32>(load<f32>(ptr(x, i)));
    if (!(a < Infinity) || !(a > <f32>2.220446049250313e-16)) continue;
    const q = a / interval;
    const b = q >= <f32>(bins - 1) ? bins - 1 : <i32>q;
    store<i32>(ptr(hist, b), load<i32>(ptr(hist, b)) + 1);
  }
}

/** dst[i] = a[i] * w + b[i] * v for i < count: two products and a sum, each rounded to float (no fused step). */
@inline function blendInto(dst: usize, a: usize, b: usize, w: f32, v: f32, count: i32): void {
  const wv = f32x4.splat(w), vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= count; i += 4)
    v128.store(ptr(dst, i), f32x4.add(f32x4.mul(v128.load(ptr(a, i)), wv), f32x4.mul(v128.load(ptr(b, i)), vv)));
  for (; i < count; i++) store<f32>(ptr(dst, i), load<f32>(ptr(a, i)) * w + load<f32>(ptr(b, i)) * v);
}

/**
 * Bilinear Resize of image b, output rows y0..y1 (NHWC, c channels), as the runtime's InterpRow / InterpCol: an
 * input row blended along x (taps xLo, xHi with weight xW on xLo, int32 / float32 arrays of ow) is kept in one
 * of the two rows of `cache` (2 * ow * c floats, this call's own) while the output rows that read it go by,
 * then each output row is the blend along y of its two rows (yLo, yHi, yW, arrays of oh).
 */
export function resizeBilinear(x: usize, ih: i32, iw: i32, c: i32, oh: i32, ow: i32, yLo: usize, yHi: usize, yW: usize,
  xLo: usize, xHi: usize, xW: usize, b: i32, y0: i32, y1: i32, cache: usize, out: usize): void {
  const rowLen = ow * c;
  let row0 = -1, row1 = -1, next = 0;
  for (let y = y0; y < y1; y++) {
    const lo = load<i32>(ptr(yLo, y)), hi = load<i32>(ptr(yHi, y));
    let top: usize = 0, bottom: usize = 0;
    for (let k = 0; k < 2; k++) {
      const want = k == 0 ? lo : hi;
      let slot = want == row0 ? 0 : want == row1 ? 1 : -1;
      if (slot < 0) {
        slot = next;
        const r = ptr(cache, slot * rowLen), base = (b * ih + want) * iw;
        for (let xx = 0; xx < ow; xx++) {
          const w = load<f32>(ptr(xW, xx)), v: f32 = 1 - w;
          blendInto(ptr(r, xx * c), ptr(x, (base + load<i32>(ptr(xLo, xx))) * c), ptr(x, (base + load<i32>(ptr(xHi, xx))) * c), w, v, c);
        }
        if (slot == 0) row0 = want;
        else row1 = want;
      }
      // the slot not used last is the one filled next: top's row stays while bottom's is made
      next = slot ^ 1;
      if (k == 0) top = ptr(cache, slot * rowLen);
      else bottom = ptr(cache, slot * rowLen);
    }
    const w = load<f32>(ptr(yW, y)), v: f32 = 1 - w;
    blendInto(ptr(out, (b * oh + y) * rowLen), top, bottom, w, v, rowLen);
  }
}
