/** Data movement without arithmetic: the reshape family, Transpose, Concat, slicing, Split, Gather, Pad, Shape, Cast. */
import { defineOp, out, present, sameAsInput } from './define.js';
import * as S from '../cpu/shape-ops.js';
import * as K from '../shaders/kernels.js';
import type { Graph, Node, DType } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import type { InputView, OutputInfo } from '../ir/op-registry.js';
import { ints, reshapeTarget, sliceParams, sliceFusionBox, splitSizes, gatherParams, padParams } from '../ir/op-params.js';
import { size, normAxis } from '../ir/tensor.js';
import { TypeId } from '../ir/schema/ops.js';
import type { LowerContext } from '../gpu/lowering.js';

/** The values of an input a shape depends on: a constant, or computed from shapes alone. */
function valuesOf(n: Node, x: InputView | undefined, what: string): number[] {
  if (!x?.data) throw new UserError(`${n.op} ${n.name}: its output shape depends on ${what}, which is not known before running`);
  return ints(x);
}

const like = (x: InputView, shape: number[]): OutputInfo[] => out(shape, x.dtype);

/** Reshape-like ops share the input's buffer on the GPU. */
const alias = (c: LowerContext) => c.alias();

defineOp({
  name: 'Reshape', fields: [], layout: 'fixed', int8: 'move',
  infer: (n, [x, target]) => like(x, reshapeTarget(n, x.shape, target ? valuesOf(n, target, 'the target shape') : ((n.attrs.shape as number[]) ?? []))),
  cpu: S.reshape, gpu: alias,
});

defineOp({
  name: 'Flatten', fields: [['axis', 'long', 1]], layout: 'fixed',
  infer: (n, [x]) => {
    const axis = normAxis((n.attrs.axis as number) ?? 1, x.shape.length);
    return like(x, [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))]);
  },
  cpu: S.flatten, gpu: alias,
});

defineOp({
  name: 'Squeeze', fields: [['axis', '[long]', null]], layout: 'fixed',
  infer: (n, [x, axesT]) => {
    const axes = (axesT ? valuesOf(n, axesT, 'the axes') : ((n.attrs.axis as number[]) ?? [])).map((a) => normAxis(a, x.shape.length));
    return like(x, x.shape.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1)));
  },
  cpu: S.squeeze, gpu: alias,
});

function unsqueezed(shape: number[], axes: number[]): number[] {
  const r = shape.length + axes.length;
  const out = [...shape];
  for (const a of axes.map((v) => normAxis(v, r)).sort((p, q) => p - q)) out.splice(a, 0, 1);
  return out;
}

defineOp({
  name: 'Unsqueeze', fields: [['axis', '[long]', null]], layout: 'fixed',
  infer: (n, [x, axesT]) => like(x, unsqueezed(x.shape, axesT ? valuesOf(n, axesT, 'the axes') : ((n.attrs.axis as number[]) ?? []))),
  cpu: S.unsqueeze, gpu: alias,
});

defineOp({
  name: 'ExpandDims', fields: [], layout: 'fixed',
  infer: (n, [x, axisT]) => like(x, unsqueezed(x.shape, valuesOf(n, axisT, 'the axis').slice(0, 1))),
  cpu: S.expandDims, gpu: alias,
});

defineOp({
  name: 'Transpose', fields: [], layout: 'fixed', int8: 'move',
  infer: (n, [x, permT]) => {
    const perm = valuesOf(n, permT, 'the permutation');
    if (perm.length !== x.shape.length) throw new UserError(`Transpose ${n.name}: perm [${perm}] does not fit input [${x.shape}]`);
    return like(x, perm.map((p) => x.shape[p]));
  },
  cpu: S.transpose,
  gpu: (c) => c.one(K.gatherBy(c.outShape, K.transposeSource(c.inShape(0), ints(c.constOf(1, 'perm')))), [c.node.inputs[0]]),
});

/** Concat and Split keep their axis in an attribute: a transpose moving through remaps it. */
function permuteAxisAttr(_g: Graph, n: Node, perm: number[]): boolean {
  const axis = (n.attrs.axis as number) ?? 0;
  n.attrs = { ...n.attrs, axis: perm[axis < 0 ? axis + perm.length : axis] };
  return true;
}

defineOp({
  name: 'Concat', fields: [['axis', 'long', 0]], layout: 'axis', permuteAxes: permuteAxisAttr,
  infer: (n, ins) => {
    const parts = ins.filter((t) => size(t.shape) > 0 || t.shape.length === ins[0].shape.length);
    const axis = normAxis((n.attrs.axis as number) ?? 0, parts[0].shape.length);
    const shape = [...parts[0].shape];
    shape[axis] = parts.reduce((s, t) => s + (t.shape[axis] ?? 1), 0);
    return like(parts[0], shape);
  },
  cpu: S.concat,
  gpu: (c) => {
    const axis = normAxis((c.node.attrs.axis as number) ?? 0, c.outShape.length);
    let off = 0;
    const steps = [];
    for (const [k, id] of c.node.inputs.entries()) {
      const s = c.shapeOf(id);
      if (!size(s)) continue;
      steps.push({ label: `${c.node.name}#${k}`, kernel: K.concatPart(s, c.outShape, axis, off), inputs: [id], output: c.node.outputs[0] });
      off += s[axis];
    }
    return { steps };
  },
});

defineOp({
  name: 'Split', fields: [['output_num', 'long', 0], ['size_splits', '[long]', null], ['axis', 'long', 0]], layout: 'axis', permuteAxes: permuteAxisAttr,
  infer: (n, [x, splitT]) => {
    const { axis, sizes } = splitSizes(n, x.shape, splitT);
    return sizes.map((s) => ({ shape: x.shape.map((d, k) => (k === axis ? s : d)), dtype: x.dtype }));
  },
  cpu: S.split,
  gpu: (c) => {
    const s = c.inShape(0);
    const { axis } = splitSizes(c.node, s, c.constOf(1, 'split sizes'));
    let off = 0;
    return {
      steps: c.node.outputs.map((o, k) => {
        const os = c.shapeOf(o);
        const begin = s.map((_, d) => (d === axis ? off : 0));
        off += os[axis];
        return { label: `${c.node.name}#${k}`, kernel: K.gatherBy(os, K.boxSource(s, begin, s.map(() => 1))), inputs: [c.node.inputs[0]], output: o };
      }),
    };
  },
});

/** A constant int input of `n` replaced by `values` (same name, new shape). */
function replaceConst(g: Graph, n: Node, slot: number, values: number[], shape = [values.length]): void {
  n.inputs[slot] = g.addConst(g.tensors[n.inputs[slot]].name, Int32Array.from(values), shape);
}

defineOp({
  name: 'StridedSlice', layout: 'axis',
  fields: [['begin_mask', 'long', 0], ['end_mask', 'long', 0], ['ellipsis_mask', 'long', 0], ['new_axis_mask', 'long', 0], ['shrink_axis_mask', 'long', 0]],
  // ONNX-style (x, starts, ends, axes, steps) names its axes; TF-style masks index dims directly.
  permuteAxes: (g, n, perm) => {
    if (n.inputs.length !== 5) return false;
    replaceConst(g, n, 3, ints(g.tensors[n.inputs[3]]).map((a) => perm[a < 0 ? a + perm.length : a]));
    return true;
  },
  infer: (n, [x, ...params]) => {
    params.forEach((p) => valuesOf(n, p, 'the slice bounds'));
    return like(x, sliceParams(n, x.shape, params).outShape);
  },
  cpu: S.stridedSlice,
  gpu: (c) => {
    const params = c.node.inputs.slice(1).map((_, k) => c.constOf(k + 1, 'slice parameters'));
    const p = sliceParams(c.node, c.inShape(0), params);
    return c.one(K.gatherBy(p.shape, K.boxSource(c.inShape(0), p.begin, p.step)), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'SliceFusion', fields: [['axes', '[long]', null]], layout: 'fixed',
  infer: (n, [x, begin, sz]) => {
    [begin, sz].forEach((p) => valuesOf(n, p, 'the slice bounds'));
    return like(x, sliceFusionBox(x.shape, begin, sz).outShape);
  },
  cpu: S.sliceFusion,
  gpu: (c) => {
    const p = sliceFusionBox(c.inShape(0), c.constOf(1, 'begin'), c.constOf(2, 'size'));
    return c.one(K.gatherBy(p.shape, K.boxSource(c.inShape(0), p.begin, p.step)), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'Gather', fields: [], layout: 'fixed',
  weights: {
    slots: () => [0],
    preferredDim: (g, n) => {
      const axisT = present(n, 2) ? g.tensors[n.inputs[2]].data : undefined;
      return axisT ? axisT[0] : ((n.attrs.axis as number) ?? 0);
    },
  },
  infer: (n, [x, idx, axisT]) => like(x, gatherParams(n, x.shape, idx.shape, axisT).outShape),
  cpu: S.gather,
  gpu: (c) => {
    const s = c.inShape(0);
    const { axis } = gatherParams(c.node, s, c.inShape(1), c.constOf(2, 'axis'));
    const idx = ints(c.constOf(1, 'indices')).map((v) => (v < 0 ? v + s[axis] : v));
    const idxShape = c.inShape(1);
    const st = K.strides(s), ist = K.strides(idxShape);
    // Output coordinates are [dims before axis, index dims, dims after axis].
    const flat = idxShape.length ? idxShape.map((_, k) => `c${axis + k} * ${ist[k]}u`).join(' + ') : '0u';
    const terms = s.map((_, k) =>
      k < axis ? `i32(c${k}) * ${st[k]}i` : k === axis ? `idx_table[${flat}] * ${st[k]}i` : `i32(c${k - 1 + idxShape.length}) * ${st[k]}i`);
    const table = `const idx_table = array<i32, ${Math.max(idx.length, 1)}>(${(idx.length ? idx : [0]).map((v) => `${v}i`).join(', ')});`;
    return c.one(K.gatherBy(c.outShape, terms.join(' + '), 0, '', table), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'PadFusion', fields: [['paddings', 'Vec2D', null], ['padding_mode', 'byte', 0], ['constant_value', 'float', 0]], layout: 'axis',
  permuteAxes: (g, n, perm) => {
    if (n.inputs.length < 2 || !g.isConst(n.inputs[1])) return false;
    const pads = ints(g.tensors[n.inputs[1]]);
    const moved = new Array(2 * perm.length).fill(0);
    perm.forEach((p, i) => ([moved[2 * p], moved[2 * p + 1]] = [pads[2 * i], pads[2 * i + 1]]));
    replaceConst(g, n, 1, moved, [perm.length, 2]);
    return true;
  },
  infer: (n, [x, padT, valueT]) => {
    if (padT) valuesOf(n, padT, 'the paddings');
    const { pads } = padParams(n, x.shape.length, padT, valueT);
    return like(x, x.shape.map((d, i) => d + pads[2 * i] + pads[2 * i + 1]));
  },
  cpu: S.pad,
  gpu: (c) => {
    const { pads, mode, value } = padParams(c.node, c.inShape(0).length, c.constOf(1, 'paddings'), c.constOf(2, 'value'));
    return c.one(K.pad(c.inShape(0), c.outShape, pads, mode, value), [c.node.inputs[0]]);
  },
});

// The shape of its input, known from shapes alone.
defineOp({
  name: 'Shape', fields: [], layout: 'fixed',
  infer: (_n, [x]) => [{ shape: [x.shape.length], dtype: 'int32', data: Int32Array.from(x.shape) }],
  cpu: S.shapeOf,
});

/** Cast to the TypeId of the second input: bool, integer types as int32, the rest float32. */
const castDtype = (to: number): DType => (to === TypeId.bool ? 'bool' : to === TypeId.int32 || to === TypeId.int64 || to === 31 ? 'int32' : 'float32');

defineOp({
  name: 'Cast', fields: [], layout: 'unary',
  infer: (n, [x, toT]) => out(x.shape, castDtype(toT ? valuesOf(n, toT, 'the target type')[0] : TypeId.float32)),
  cpu: S.cast,
  // On the GPU every tensor is f32: booleans 0/1, integers truncated.
  gpu: (c) => {
    const dtype = castDtype(ints(c.constOf(1, 'the target type'))[0] ?? TypeId.float32);
    return c.one(K.unary(size(c.outShape), dtype === 'bool' ? 'select(0.0, 1.0, x != 0.0)' : dtype === 'int32' ? 'trunc(x)' : 'x'), [c.node.inputs[0]]);
  },
});

// The element count of its input, known from shapes alone.
defineOp({
  name: 'Size', fields: [], layout: 'fixed',
  infer: (_n, [x]) => [{ shape: [], dtype: 'int32', data: Int32Array.of(size(x.shape)) }],
  cpu: (_n, [x]) => [{ shape: [], data: Int32Array.of(size(x.shape)) }],
});

/** A tensor of the shape given by its input, filled with `value[0]`, integer when data_type says so. */
const constantOfShapeDtype = (n: Node): DType => (n.attrs.data_type === TypeId.int32 || n.attrs.data_type === TypeId.int64 ? 'int32' : 'float32');
defineOp({
  name: 'ConstantOfShape', fields: [['data_type', 'long', 0], ['value', '[float]', null], ['element_size', 'int', 0], ['shape', '[long]', null]],
  layout: 'fixed',
  infer: (n, [shapeT]) => out(valuesOf(n, shapeT, 'the shape'), constantOfShapeDtype(n)),
  cpu: (n, [shapeT]) => {
    const shape = ints(shapeT);
    const value = ((n.attrs.value as number[]) ?? [0])[0] ?? 0;
    const data = constantOfShapeDtype(n) === 'int32' ? new Int32Array(size(shape)) : new Float32Array(size(shape));
    return [{ shape, data: data.fill(value) }];
  },
});

// MindSpore's BiasAdd, read from real .ms files; no kernel.
defineOp({ name: 'BiasAdd', fields: [['format', 'int', 0]], layout: 'fixed', infer: sameAsInput });
