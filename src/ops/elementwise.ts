/** Elementwise ops: broadcasting binary arithmetic and unary math. */
import { defineOp, ACT, broadcastInfer, floatLikeInput, sameAsInput } from './define.js';
import { broadcastBinary, mapUnary, mapUnaryWith, Bin } from '../cpu/elementwise.js';
import { erf, usesRuntimeMath } from '../cpu/activation.js';
import { nnaclExp } from '../cpu/nnacl-math.js';
import * as K from '../shaders/kernels.js';
import { ERF_WGSL, SIN_COS_WGSL } from '../shaders/common.js';
import { size } from '../ir/tensor.js';
import type { Field } from '../ir/schema/ops.js';

/** A broadcasting binary op: `f` on the CPU, `wgsl` (a BinaryOp of the kernel generator) on the GPU. */
function binaryOp(name: string, fields: readonly Field[], f: Bin, wgsl: K.BinaryOp): void {
  const fused = fields.includes(ACT);
  defineOp({
    name, fields, layout: 'broadcast', fusedActivation: fused && name !== 'SubFusion' && name !== 'DivFusion',
    infer: broadcastInfer,
    cpu: broadcastBinary(f, wgsl),
    gpu: (c) => {
      const a = c.node.attrs;
      return c.one(K.binary(wgsl, c.inShape(0), c.inShape(1), c.outShape, fused ? c.act : 0, (a.scale as number) ?? 1, (a.shift as number) ?? 0), c.node.inputs.slice(0, 2));
    },
  });
}

binaryOp('AddFusion', [ACT], (a, b) => a + b, 'add');
binaryOp('SubFusion', [ACT], (a, b) => a - b, 'sub');
binaryOp('MulFusion', [ACT], (a, b) => a * b, 'mul');
binaryOp('DivFusion', [ACT], (a, b) => a / b, 'div');
binaryOp('Maximum', [], (a, b) => (a > b ? a : b), 'max');
binaryOp('Minimum', [], (a, b) => (a < b ? a : b), 'min');
binaryOp('PowFusion', [['scale', 'float', 1], ['shift', 'float', 0]], Math.pow, 'pow');

// Mod is C's fmod (sign of the dividend), FloorMod Python's % (sign of the divisor).
binaryOp('Mod', [], (a, b) => a % b, 'fmod');
binaryOp('FloorMod', [], (a, b) => a - Math.floor(a / b) * b, 'floormod');
binaryOp('FloorDiv', [], (a, b) => Math.floor(a / b), 'floordiv');
binaryOp('SquaredDifference', [], (a, b) => (a - b) * (a - b), 'sqdiff');

/** AddN: the sum of any number of same-shape (broadcastable) inputs. */
defineOp({
  name: 'AddN', fields: [], layout: 'broadcast',
  infer: (n, ins) => [ins.slice(1).reduce((acc, x) => broadcastInfer(n, [acc, x])[0], { shape: ins[0].shape, dtype: ins[0].dtype })],
  cpu: (n, ins) => [ins.slice(1).reduce((acc, x) => broadcastBinary((a, b) => a + b)(n, [acc, x])[0], ins[0])],
  gpu: (c) => c.one(K.broadcastExpr(c.node.inputs.map(c.shapeOf), c.outShape, c.node.inputs.map((_, k) => `v${k}`).join(' + '))),
});

// Caffe's Eltwise: read from real .ms files; no kernel.
defineOp({ name: 'Eltwise', fields: [['mode', 'byte', 0]], layout: 'broadcast', infer: broadcastInfer });

/** A unary math op: `f` on the CPU, the WGSL expression of `x` on the GPU (with the functions it calls). */
function unaryOp(name: string, f: (x: number) => number, wgsl: string, helpers = '', keepIntegers = false): void {
  defineOp({
    name, fields: [], layout: 'unary', infer: keepIntegers ? sameAsInput : floatLikeInput,
    cpu: mapUnary(f, keepIntegers),
    gpu: (c) => c.one(K.unary(size(c.outShape), wgsl, 0, 0, 0, 0, helpers), [c.node.inputs[0]]),
  });
}

/** Round half to even, as ONNX's Round and the runtime's SIMD path (the x86 vector rounding mode). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Abs and Neg of integers (shape arithmetic) stay integers.
unaryOp('Abs', Math.abs, 'abs(x)', '', true);
unaryOp('Neg', (x) => -x, '-x', '', true);
unaryOp('Sqrt', Math.sqrt, 'sqrt(x)');
unaryOp('Log', Math.log, 'log(x)');
unaryOp('Floor', Math.floor, 'floor(x)');
unaryOp('Ceil', Math.ceil, 'ceil(x)');
unaryOp('Round', roundHalfEven, 'round(x)');
unaryOp('Reciprocal', (x) => 1 / x, '1.0 / x');
unaryOp('Sin', Math.sin, 'sin_precise(x)', SIN_COS_WGSL);
unaryOp('Cos', Math.cos, 'cos_precise(x)', SIN_COS_WGSL);
unaryOp('Erf', erf, 'erf_approx(x)', ERF_WGSL);
unaryOp('Rsqrt', (x) => 1 / Math.sqrt(x), 'inverseSqrt(x)');
unaryOp('Square', (x) => x * x, 'x * x', '', true);
unaryOp('ZerosLike', () => 0, '0.0', '', true);

/** exp((scale * x + shift) * ln(base)); base -1 means e. */
function expParams(a: Record<string, unknown>): { scale: number; shift: number; ln: number } {
  const base = (a.base as number) ?? -1;
  return { scale: (a.scale as number) ?? 1, shift: (a.shift as number) ?? 0, ln: base === -1 ? 1 : Math.log(base) };
}

defineOp({
  name: 'ExpFusion', fields: [['base', 'float', -1], ['scale', 'float', 1], ['shift', 'float', 0]], layout: 'unary', infer: floatLikeInput,
  cpu: mapUnaryWith((n) => {
    const { scale, shift, ln } = expParams(n.attrs);
    if (usesRuntimeMath()) {
      // The runtime's ExpFusion: nnacl's exp of x * (scale ln base), times base^shift.
      const inScale = Math.fround(scale * ln), outScale = Math.fround(Math.exp(shift * ln));
      return (v) => Math.fround(nnaclExp(inScale === 1 ? v : Math.fround(v * inScale)) * outScale);
    }
    return (v) => Math.exp((scale * v + shift) * ln);
  }),
  gpu: (c) => {
    const { scale, shift, ln } = expParams(c.node.attrs);
    return c.one(K.unary(size(c.outShape), `exp((x * ${K.fl(scale)} + ${K.fl(shift)}) * ${K.fl(ln)})`), [c.node.inputs[0]]);
  },
});
