/**
 * Small typed helpers that generate WGSL. Every kernel bakes its shapes as constants (one pipeline per layer
 * shape, cached by source text), reads float32 storage buffers and writes one output buffer.
 */
import { ActivationType as A } from '../ir/schema/ops.js';
import { FLT_MAX } from '../ir/numeric.js';

export const WG = 64;

/** Binding declarations: inputs read-only in order, then the output; `element` f32, or vec4f for four-wide kernels. */
export function bindings(inputs: number, extra = '', element = 'f32'): string {
  const lines: string[] = [];
  for (let i = 0; i < inputs; i++) lines.push(`@group(0) @binding(${i}) var<storage, read> in${i}: array<${element}>;`);
  lines.push(`@group(0) @binding(${inputs}) var<storage, read_write> out: array<${element}>;`);
  return lines.join('\n') + extra;
}

/** A scalar WGSL function applied to each lane of a vec4f expression. */
export const perLane = (fn: string, v: string) => `vec4f(${fn}(${v}.x), ${fn}(${v}.y), ${fn}(${v}.z), ${fn}(${v}.w))`;

/**
 * `WEBPTQ_KERNELS=v1` selects the kernels as they were before the GPU speed work (scalar GEMM tiles, pooling one
 * element per thread, elementwise one element per thread, reductions one thread per output), for `npm run
 * bench:gpu`'s side-by-side column and the tests that keep them correct.
 */
export const previousKernels = () => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.WEBPTQ_KERNELS === 'v1';

/** Entry point with a linear thread index `idx` over a grid that may be folded into 2-D (>65535 groups). */
export function mainLinear(total: number, body: string, wg = WG): string {
  const groups = Math.ceil(total / wg);
  const nx = Math.min(groups, 65535);
  return `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.y * ${nx}u + wid.x) * ${wg}u + lid;
  if (idx >= ${total}u) { return; }
${body}
}`;
}

export function linearDispatch(total: number, wg = WG): [number, number, number] {
  const groups = Math.ceil(total / wg);
  const nx = Math.min(groups, 65535);
  return [nx, Math.ceil(groups / nx), 1];
}

export const u = (n: number) => `${Math.trunc(n)}u`;
export const i = (n: number) => `${Math.trunc(n)}i`;

/** A WGSL float literal that round-trips the float32 value. */
export function f(n: number): string {
  if (n >= FLT_MAX) return '3.4028234663852886e38';
  if (n <= -FLT_MAX) return '-3.4028234663852886e38';
  const s = Math.fround(n).toPrecision(9);
  return s.includes('e') || s.includes('.') ? s : `${s}.0`;
}

export { stridesOf } from '../ir/graph.js';
import { stridesOf } from '../ir/graph.js';

/** WGSL statements decomposing `idx` into coordinates c0..c{r-1} of `shape`. */
export function coords(shape: readonly number[], name = 'c', from = 'idx'): string {
  const st = stridesOf(shape);
  const lines = [`  var rem_${name} = ${from};`];
  shape.forEach((_, k) => {
    lines.push(`  let ${name}${k} = rem_${name} / ${u(st[k])};`);
    lines.push(`  rem_${name} = rem_${name} - ${name}${k} * ${u(st[k])};`);
  });
  return lines.join('\n');
}

/** The activation applied by fused activation_type or the Activation op, as a WGSL function `act`. */
export function activationFn(type: number, alpha = 0, minVal = 0, maxVal = 0, approximate = false): string {
  const body = ((): string => {
    switch (type) {
      case A.NO_ACTIVATION: return 'x';
      case A.RELU: return 'max(x, 0.0)';
      case A.RELU6: return 'clamp(x, 0.0, 6.0)';
      case A.LEAKY_RELU: return `select(${f(alpha)} * x, x, x > 0.0)`;
      case A.SIGMOID: return '1.0 / (1.0 + exp(-x))';
      case A.TANH: return 'tanh_safe(x)';
      case A.SWISH: return 'x / (1.0 + exp(-x))';
      case A.HSWISH: return 'x * clamp(x + 3.0, 0.0, 6.0) / 6.0';
      case A.HSIGMOID: return 'clamp(x + 3.0, 0.0, 6.0) / 6.0';
      case A.HARD_TANH: return `clamp(x, ${f(minVal)}, ${f(maxVal)})`;
      case A.ELU: return `select(${f(alpha)} * (exp(x) - 1.0), x, x > 0.0)`;
      case A.ABS: return 'abs(x)';
      case A.SOFTPLUS: return 'log(1.0 + exp(x))';
      case A.GELU: return approximate ? '0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)))' : '0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752))';
      default: throw new Error(`activation_type ${type} has no WGSL kernel`);
    }
  })();
  // tanh of large |x| overflows exp on some drivers; clamp first.
  return `fn tanh_safe(v: f32) -> f32 { let c = clamp(v, -15.0, 15.0); let e = exp(2.0 * c); return (e - 1.0) / (e + 1.0); }
${type === A.GELU ? ERF_WGSL : ''}
fn act(x: f32) -> f32 { return ${body}; }`;
}

/** erf(x) with the same rational approximation (max error 1.2e-7) as the CPU kernels' `erf`. */
export const ERF_WGSL = `fn erf_approx(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * abs(x));
  let y = 1.0 - t * exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(-y, y, x >= 0.0);
}`;

/**
 * sin and cos to float precision: WGSL's builtins may be off by 2^-11 absolute (SwiftShader is), a thousand
 * times the CPU kernels' error. Cody-Waite reduction by pi/2, then Cephes' single-precision polynomials.
 */
export const SIN_COS_WGSL = `fn sin_cos_q(x: f32, quarter: i32) -> f32 {
  let k = round(x * 0.63661977236758134);
  let r = (x - k * 1.5707963705062866) + k * 4.3711390001862430e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4));
  let c = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5));
  let q = (i32(k) + quarter) & 3;
  return select(select(select(-c, -s, q == 2), c, q == 1), s, q == 0);
}
fn sin_precise(x: f32) -> f32 { return sin_cos_q(x, 0); }
fn cos_precise(x: f32) -> f32 { return sin_cos_q(x, 1); }`;
