/** Scalar activation functions shared by Activation and the fused activation_type of Conv/FC/Add... */
import { ActivationType as A } from '../ir/schema/ops.js';
import { UserError } from '../ir/graph.js';
import { nnaclElu, nnaclGeluTanh, nnaclSigmoid, nnaclSoftplus, nnaclSwish, nnaclTanh } from './nnacl-math.js';

/**
 * Whether float kernels compute with the runtime's approximations (cpu/nnacl-math) instead of Math.exp and
 * Math.tanh. The executor turns it on while it runs a quantized graph, where those values are rounded to int8
 * and must be the runtime's; float graphs keep the exact functions (what onnxruntime computes: nnacl's tanh is
 * 1e-4 from tanh near |x| = 5).
 */
let runtimeMath = false;
export const usesRuntimeMath = (): boolean => runtimeMath;

/** Runs `body` with runtime math on or off, restoring the previous mode after it. */
export function withRuntimeMath<T>(on: boolean, body: () => T): T {
  const before = runtimeMath;
  runtimeMath = on;
  try {
    return body();
  } finally {
    runtimeMath = before;
  }
}

/** The runtime's form of the activations it approximates, or undefined. */
function runtimeActivation(type: number, alpha: number, approximate: boolean): ((x: number) => number) | undefined {
  switch (type) {
    case A.SIGMOID: return nnaclSigmoid;
    case A.SWISH: return nnaclSwish;
    case A.TANH: return nnaclTanh;
    case A.GELU: return approximate ? nnaclGeluTanh : undefined;
    case A.ELU: return (x) => nnaclElu(x, alpha);
    case A.SOFTPLUS: return nnaclSoftplus;
    default: return undefined;
  }
}

export function activationFn(type: number, alpha = 0, minVal = 0, maxVal = 0, approximate = false): ((x: number) => number) | null {
  const runtime = runtimeMath ? runtimeActivation(type, alpha, approximate) : undefined;
  if (runtime) return runtime;
  switch (type) {
    case A.NO_ACTIVATION: return null;
    case A.RELU: return (x) => (x > 0 ? x : 0);
    case A.RELU6: return (x) => (x > 0 ? (x < 6 ? x : 6) : 0);
    case A.LEAKY_RELU: return (x) => (x > 0 ? x : alpha * x);
    case A.SIGMOID: return (x) => 1 / (1 + Math.exp(-x));
    case A.TANH: return Math.tanh;
    case A.SWISH: return (x) => x / (1 + Math.exp(-x));
    case A.HSWISH: return (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
    // MindSpore's HSIGMOID kernel computes relu6(x + 3) / 6 whatever alpha says.
    case A.HSIGMOID: return (x) => Math.min(Math.max(x + 3, 0), 6) / 6;
    case A.HARD_TANH: return (x) => (x < minVal ? minVal : x > maxVal ? maxVal : x);
    case A.ELU: return (x) => (x > 0 ? x : alpha * (Math.exp(x) - 1));
    case A.ABS: return Math.abs;
    case A.SOFTPLUS: return (x) => Math.log1p(Math.exp(x));
    // approximate: the tanh form (ONNX Gelu approximate="tanh", the runtime's approximate flag).
    case A.GELU: return approximate ? (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))) : (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    default: throw new UserError(`Activation: unsupported activation_type ${type}`);
  }
}

/**
 * Applies an activation in place. The frequent ones have their own loops (a loop calling a shared closure is
 * not inlined and runs several times slower); the rest go through activationFn. Values are those of
 * activationFn exactly.
 */
export function applyActivation(d: Float32Array, type: number, alpha = 0, minVal = 0, maxVal = 0, approximate = false): void {
  const n = d.length;
  const runtime = runtimeMath ? runtimeActivation(type, alpha, approximate) : undefined;
  if (runtime) {
    for (let i = 0; i < n; i++) d[i] = runtime(d[i]);
    return;
  }
  switch (type) {
    case A.NO_ACTIVATION: return;
    case A.RELU: for (let i = 0; i < n; i++) { const x = d[i]; d[i] = x > 0 ? x : 0; } return;
    case A.RELU6: for (let i = 0; i < n; i++) { const x = d[i]; d[i] = x > 0 ? (x < 6 ? x : 6) : 0; } return;
    case A.SIGMOID: for (let i = 0; i < n; i++) d[i] = 1 / (1 + Math.exp(-d[i])); return;
    case A.SWISH: for (let i = 0; i < n; i++) { const x = d[i]; d[i] = x / (1 + Math.exp(-x)); } return;
    case A.HSWISH: for (let i = 0; i < n; i++) { const x = d[i]; d[i] = (x * Math.min(Math.max(x + 3, 0), 6)) / 6; } return;
    case A.HSIGMOID: for (let i = 0; i < n; i++) d[i] = Math.min(Math.max(d[i] + 3, 0), 6) / 6; return;
    case A.TANH: for (let i = 0; i < n; i++) d[i] = Math.tanh(d[i]); return;
    case A.LEAKY_RELU: for (let i = 0; i < n; i++) { const x = d[i]; d[i] = x > 0 ? x : alpha * x; } return;
    default: {
      const f = activationFn(type, alpha, minVal, maxVal, approximate)!;
      for (let i = 0; i < n; i++) d[i] = f(d[i]);
    }
  }
}

export function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-4 checks; use a series/continued-fraction split.
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}
