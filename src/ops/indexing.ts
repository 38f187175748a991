/**
 * Ops that pick or place elements by index or repeat them: TileFusion, BroadcastTo, DepthToSpace, SpaceToDepth,
 * OneHot, Range, ArgMax/ArgMinFusion, TopKFusion, CumSum, GatherD, GatherNd, ScatterNdUpdate, ScatterElements,
 * NonZero.
 */
import { defineOp, out } from './define.js';
import * as I from '../cpu/indexing.js';
import * as K from '../shaders/kernels.js';
import type { Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import type { InputView } from '../ir/op-registry.js';
import { ints } from '../ir/op-params.js';
import { normAxis, broadcastShape } from '../ir/tensor.js';

/** The values of an input a shape depends on (a constant, or computed from shapes alone). */
function known(n: Node, x: InputView | undefined, what: string): number[] {
  if (!x?.data) throw new UserError(`${n.op} ${n.name}: its output shape depends on ${what}, which is not known before running`);
  return ints(x);
}

defineOp({
  name: 'TileFusion', fields: [['dims', '[long]', null]], layout: 'fixed',
  infer: (n, [x, m]) => {
    const reps = known(n, m, 'the multiples');
    return out(x.shape.map((d, i) => d * (reps[i] ?? 1)), x.dtype);
  },
  cpu: I.tile,
  gpu: (c) => {
    const s = c.inShape(0), st = K.strides(s);
    return c.one(K.gatherBy(c.outShape, `i32(0u${s.map((d, k) => ` + (c${k} % ${d}u) * ${st[k]}u`).join('')})`), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'BroadcastTo', fields: [['shape', '[long]', null]], layout: 'fixed',
  infer: (n, [x, shapeT]) => out(broadcastShape(x.shape, shapeT ? known(n, shapeT, 'the shape') : ((n.attrs.shape as number[]) ?? []), `BroadcastTo ${n.name}`), x.dtype),
  cpu: (n, [x, shapeT]) => I.broadcastTo(n, [x, shapeT ?? { shape: [], data: Int32Array.from((n.attrs.shape as number[]) ?? []) }]),
  gpu: (c) => c.one(K.broadcastExpr([c.inShape(0)], c.outShape, 'v0'), [c.node.inputs[0]]),
});

/** Source offset, in an NHWC input of `s`, of output coordinates c0..c3 of DepthToSpace (or SpaceToDepth). */
function depthToSpaceSource(s: number[], b: number, crd: boolean): string {
  const [, H, W, C] = s, oc = C / (b * b);
  const ic = crd ? `c3 * ${b * b}u + (c1 % ${b}u) * ${b}u + (c2 % ${b}u)` : `((c1 % ${b}u) * ${b}u + (c2 % ${b}u)) * ${oc}u + c3`;
  return `i32(((c0 * ${H}u + c1 / ${b}u) * ${W}u + c2 / ${b}u) * ${C}u + ${ic})`;
}

defineOp({
  name: 'DepthToSpace', fields: [['block_size', 'long', 0], ['format', 'int', 0], ['mode', 'string', null]], layout: 'nhwc',
  infer: (n, [x]) => {
    const b = n.attrs.block_size as number;
    return out([x.shape[0], x.shape[1] * b, x.shape[2] * b, x.shape[3] / (b * b)], x.dtype);
  },
  cpu: I.depthToSpace,
  gpu: (c) => c.one(K.gatherBy(c.outShape, depthToSpaceSource(c.inShape(0), c.node.attrs.block_size as number, c.node.attrs.mode === 'CRD')), [c.node.inputs[0]]),
});

defineOp({
  name: 'SpaceToDepth', fields: [['block_size', 'long', 0], ['format', 'int', 0]], layout: 'nhwc',
  infer: (n, [x]) => {
    const b = n.attrs.block_size as number;
    return out([x.shape[0], x.shape[1] / b, x.shape[2] / b, x.shape[3] * b * b], x.dtype);
  },
  cpu: I.spaceToDepth,
  gpu: (c) => {
    const [, H, W, C] = c.inShape(0), b = c.node.attrs.block_size as number;
    const src = `i32(((c0 * ${H}u + c1 * ${b}u + (c3 / ${C}u) / ${b}u) * ${W}u + c2 * ${b}u + (c3 / ${C}u) % ${b}u) * ${C}u + c3 % ${C}u)`;
    return c.one(K.gatherBy(c.outShape, src), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'OneHot', fields: [['axis', 'long', 0]], layout: 'fixed',
  infer: (n, [idx, depth]) => {
    const axis = normAxis((n.attrs.axis as number) ?? -1, idx.shape.length + 1);
    return out([...idx.shape.slice(0, axis), known(n, depth, 'the depth')[0], ...idx.shape.slice(axis)]);
  },
  cpu: I.oneHot,
});

defineOp({
  name: 'Range', fields: [['d_type', 'long', 0], ['start', 'long', 0], ['limit', 'long', 0], ['delta', 'long', 1]], layout: 'fixed',
  infer: (n, [start, limit, delta]) => {
    const [s, l, d] = [start, limit, delta].map((t) => (t?.data ? t.data[0] : NaN));
    if (![s, l, d].every(Number.isFinite)) throw new UserError(`Range ${n.name}: its length depends on inputs not known before running`);
    return out([Math.max(Math.ceil((l - s) / d), 0)], start.dtype);
  },
  cpu: I.range,
});

for (const [name, isMax] of [['ArgMaxFusion', true], ['ArgMinFusion', false]] as const)
  defineOp({
    name, fields: [['axis', 'long', 0], ['top_k', 'long', 1], ['keep_dims', 'bool', false], ['out_max_value', 'bool', false]], layout: 'fixed',
    infer: (n, [x]) => {
      const axis = normAxis((n.attrs.axis as number) ?? 0, x.shape.length);
      const shape = n.attrs.keep_dims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
      return out(shape, n.attrs.out_max_value ? 'float32' : 'int32');
    },
    cpu: I.argMinMax(isMax),
  });

defineOp({
  name: 'TopKFusion', fields: [['sorted', 'bool', true], ['axis', 'long', 0], ['largest', 'long', 0]], layout: 'fixed',
  infer: (n, [x, k]) => {
    const axis = normAxis((n.attrs.axis as number) ?? -1, x.shape.length);
    const shape = x.shape.map((d, i) => (i === axis ? known(n, k, 'k')[0] : d));
    return [{ shape, dtype: 'float32' }, { shape, dtype: 'int32' }];
  },
  cpu: I.topK,
});

defineOp({
  name: 'CumSum', fields: [['exclusive', 'bool', false], ['reverse', 'bool', false]], layout: 'fixed',
  infer: (_n, [x]) => out(x.shape, x.dtype),
  cpu: I.cumSum,
});

defineOp({ name: 'GatherD', fields: [], layout: 'fixed', infer: (_n, [x, , idx]) => out(idx.shape, x.dtype), cpu: I.gatherD });

defineOp({
  name: 'GatherNd', fields: [], layout: 'fixed',
  infer: (_n, [x, idx]) => out([...idx.shape.slice(0, -1), ...x.shape.slice(idx.shape[idx.shape.length - 1])], x.dtype),
  cpu: I.gatherNd,
});

defineOp({ name: 'ScatterNdUpdate', fields: [], layout: 'fixed', infer: (_n, [x]) => out(x.shape, x.dtype), cpu: I.scatterNdUpdate });

defineOp({ name: 'ScatterElements', fields: [['axis', 'long', 0]], layout: 'fixed', infer: (_n, [x]) => out(x.shape, x.dtype), cpu: I.scatterElements });

/** NonZero: the indices [rank, count] of the non-zero elements; the count depends on the values. */
function nonZero(x: { shape: number[]; data: ArrayLike<number> }): { shape: number[]; data: Int32Array } {
  const rank = x.shape.length, strides = x.shape.map((_, k) => x.shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const hits: number[] = [];
  for (let i = 0; i < x.data.length; i++) if (x.data[i]) hits.push(i);
  const data = new Int32Array(rank * hits.length);
  hits.forEach((flat, j) => strides.forEach((s, k) => (data[k * hits.length + j] = Math.floor(flat / s) % x.shape[k])));
  return { shape: [rank, hits.length], data };
}

defineOp({
  name: 'NonZero', layout: 'fixed', fields: [],
  infer: (n, [x]) => {
    if (!x.data) throw new UserError(`NonZero ${n.name}: its output size depends on the input's values: only a NonZero of constants can be converted (it folds)`);
    return [{ ...nonZero({ shape: x.shape, data: x.data }), dtype: 'int32' }];
  },
  cpu: (_n, [x]) => [nonZero(x)],
});
