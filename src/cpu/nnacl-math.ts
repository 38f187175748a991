/**
 * The float approximations MindSpore Lite's CPU kernels (nnacl) compute with, emulated step by step in float32
 * (every Math.fround is one C float operation). The int8 executor uses them for the float ops of a quantized
 * graph (cpu/activation.ts's runtime math): a Sigmoid that feeds a QuantDTypeCast rounds to int8 from the
 * runtime's value, and `Math.exp` differs from nnacl's polynomial by ~5e-7, enough to flip the rounding of some
 * SiLU outputs, and the flips grow through the layers that follow (YOLOX-nano, #32).
 *
 * exp: x clamped to [ln FLT_MIN, ln FLT_MAX], n = round(x / ln 2) (half away from zero, as the SIMD blocks
 * do it: truncate x*log2(e) +- 0.5), r = x - n * 0.693147 (ln 2 rounded to six digits, as nnacl writes it),
 * a degree-5 Taylor polynomial of e^r in Horner form, scaled by 2 * 2^(n-1) built from exponent bits (2^n itself
 * is not a float for n = 128). Tanh is nnacl's [7/6] Pade form clamped to +-1 beyond |x| > 5 (1e-4 from tanh
 * near 5). The SIMD blocks and the scalar tail differ only in how a tie of x*log2(e) + 0.5 rounds; the SIMD form
 * is used throughout. Verified bit for bit against the same formulas compiled as C (scripts/nnacl-math-golden.c).
 */
const f = Math.fround;
const LN2 = f(0.693147);
const LOG2E = f(1.4426950408889634); // nnacl writes 1.44269504088896341f
const C120 = f(1 / 120);
const C24 = f(1 / 24);
const C6 = f(1 / 6);
const EXP_MIN = -87.3365478515625;
const EXP_MAX = 88.72283935546875;

const word = new Float32Array(1);
const wordBits = new Int32Array(word.buffer);

/** The float whose bits are (n + 126) << 23: 2^(n-1) for n in [-125, 128], +0 at n = -126. */
function halfPow2(n: number): number {
  wordBits[0] = (n + 126) << 23;
  return word[0];
}

/** nnacl's exp (simd_exp128/256/512_f32). */
export function nnaclExp(x: number): number {
  const v = x > EXP_MAX ? EXP_MAX : x < EXP_MIN ? EXP_MIN : f(x);
  const n = Math.trunc(f(v * LOG2E + (v < 0 ? -0.5 : 0.5)));
  const r = f(v - f(n * LN2));
  let t = f(r * f(C24 + f(r * C120)));
  t = f(r * f(0.5 + f(r * f(C6 + t))));
  const p = f(1 + f(r * f(1 + t)));
  return f(2 * f(p * halfPow2(n)));
}

/** nnacl's scalar exp (simd_exp32): n = floor(x*log2(e) + 0.5) in two roundings. Softplus and Softmax tails use it. */
export function nnaclExpScalar(x: number): number {
  const v = x > EXP_MAX ? EXP_MAX : x < EXP_MIN ? EXP_MIN : f(x);
  const n = Math.floor(f(f(v * LOG2E) + 0.5));
  const r = f(v - f(n * LN2));
  const p = f(1 + f(r * f(1 + f(r * f(0.5 + f(r * f(C6 + f(r * f(C24 + f(r * C120))))))))));
  return f(f(2 * halfPow2(n)) * p);
}

export const nnaclSigmoid = (x: number): number => f(1 / f(1 + nnaclExp(-x)));

/** Swish (SiLU): x times nnacl's sigmoid, as the runtime's Swish kernel computes it. */
export const nnaclSwish = (x: number): number => f(f(x) * nnaclSigmoid(x));

/** TanhOpt / MS_TANHX*_F32. */
export function nnaclTanh(x: number): number {
  if (x > 5) return 1;
  if (x < -5) return -1;
  const s = f(x * x);
  const a = f(f(f(f(f(f(s + 378) * s) + 17325) * s) + 135135) * x);
  const b = f(f(f(f(f(f(28 * s) + 3150) * s) + 62370) * s) + 135135);
  return f(a / b);
}

const GELU_C1 = f(0.035677408136);
const GELU_C2 = f(0.79788456080287);
/** Gelu with approximate = true: 0.5x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) in the kernel's order. */
export function nnaclGeluTanh(x: number): number {
  const tmp1 = f(f(x * GELU_C1) * x);
  const tmp2 = f(f(tmp1 + GELU_C2) * x);
  return f(f(x * 0.5) * f(nnaclTanh(tmp2) + 1));
}

export const nnaclElu = (x: number, alpha: number): number => (x > 0 ? x : f(f(nnaclExp(x) - 1) * f(alpha)));

/** Softplus: log1p of the scalar exp, in double, stored as float. */
export const nnaclSoftplus = (x: number): number => f(Math.log1p(nnaclExpScalar(x)));

/**
 * Softmax over the last axis (SoftmaxLastAxis): exps and their sum in float, the sum kept per SIMD lane over
 * blocks of 16, 8 then 4 (an x86 build with AVX512, AVX and SSE) and each block's lanes added in order, then
 * multiplied by the reciprocal of the sum. The runtime's other axes go through libm's expf and divide.
 */
export function nnaclSoftmaxRow(x: Float32Array, base: number, len: number, out: Float32Array): void {
  let max = -3.4028234663852886e38;
  for (let k = 0; k < len; k++) if (x[base + k] > max) max = x[base + k];
  let sum = 0, k = 0;
  for (const lanes of [16, 8, 4]) {
    if (len - k < lanes) continue;
    const acc = new Array<number>(lanes).fill(0);
    for (; k + lanes <= len; k += lanes)
      for (let l = 0; l < lanes; l++) {
        const e = nnaclExp(f(x[base + k + l] - max));
        acc[l] = f(acc[l] + e);
        out[base + k + l] = e;
      }
    let block = acc[0];
    for (let l = 1; l < lanes; l++) block = f(block + acc[l]);
    sum = f(sum + block);
  }
  for (; k < len; k++) {
    const e = nnaclExpScalar(f(x[base + k] - max));
    sum = f(sum + e);
    out[base + k] = e;
  }
  const inv = f(1 / sum);
  for (let j = 0; j < len; j++) out[base + j] = f(out[base + j] * inv);
}
