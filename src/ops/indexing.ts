/**
 * Ops that pick or place elements by index or repeat them: TileFusion, BroadcastTo, DepthToSpace, SpaceToDepth,
 * OneHot, Range, ArgMax/ArgMinFusion, TopKFusion, CumSum, GatherD, GatherNd, ScatterNdUpdate, ScatterElements,
 * NonZero, ReverseV2, ReverseSequence, SpaceToBatchND, BatchToSpaceND, Stack, Unstack, Fill, Rank.
 */
import { defineOp, out, OpDefinition } from './define.js';
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
    // Inputs known only when running: the length is too (a runtime op, as MindSpore keeps it).
    if (![s, l, d].every(Number.isFinite)) return out([-1], start.dtype);
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

/** WGSL source offset of output coordinates c0.. for the reshuffles below (the same mapping as the CPU's). */
const flat = (shape: number[], terms: string[]) => terms.map((t, d) => `(${t}) * ${shape.slice(d + 1).reduce((a, b) => a * b, 1)}`).join(' + ');

defineOp({
  name: 'ReverseV2', fields: [['axis', '[long]', null]], layout: 'fixed',
  infer: (_n, [x]) => out([...x.shape], x.dtype),
  cpu: I.reverseV2,
  gpu: (c) => {
    const s = c.inShape(0), axes = ((c.node.attrs.axis as number[]) ?? []).map((a) => normAxis(a, s.length));
    return c.one(K.gatherBy(c.outShape, `i32(${flat(s, s.map((len, d) => (axes.includes(d) ? `${len - 1}u - c${d}` : `c${d}`)))})`), [c.node.inputs[0]]);
  },
});

defineOp({
  name: 'ReverseSequence', fields: [['seq_dim', 'long', 0], ['batch_dim', 'long', 0]], layout: 'fixed',
  infer: (_n, [x]) => out([...x.shape], x.dtype),
  cpu: I.reverseSequence,
});

/** The block of SpaceToBatchND / BatchToSpaceND (`block_shape`) or BatchToSpace (`block_size`). */
const blocks = (n: Node) => {
  const b = (n.attrs.block_size ?? n.attrs.block_shape) as number[];
  return { bh: b[0], bw: b[1] };
};

defineOp({
  name: 'SpaceToBatchND', fields: [['block_shape', '[long]', null], ['paddings', 'Vec2D', null]], layout: 'nhwc',
  infer: (n, [x]) => {
    const { bh, bw } = blocks(n), [[pt, pb], [pl, pr]] = n.attrs.paddings as number[][];
    return out([x.shape[0] * bh * bw, (x.shape[1] + pt + pb) / bh, (x.shape[2] + pl + pr) / bw, x.shape[3]]);
  },
  cpu: I.spaceToBatchNd,
  gpu: (c) => {
    const { bh, bw } = blocks(c.node), [[pt], [pl]] = c.node.attrs.paddings as number[][];
    const [N, H, W, C] = c.inShape(0);
    const decls = `fn pick(b: u32, y: u32, x: u32, ch: u32) -> i32 {
  let n0 = i32(b % ${N}u); let off = i32(b / ${N}u);
  let iy = i32(y) * ${bh} + off / ${bw} - ${pt}; let ix = i32(x) * ${bw} + off % ${bw} - ${pl};
  if (iy < 0 || iy >= ${H} || ix < 0 || ix >= ${W}) { return -1; }
  return ((n0 * ${H} + iy) * ${W} + ix) * ${C} + i32(ch);
}`;
    return c.one(K.gatherBy(c.outShape, 'pick(c0, c1, c2, c3)', 0, '', decls), [c.node.inputs[0]]);
  },
});

const batchToSpace = {
  infer: (n, [x]) => {
    const { bh, bw } = blocks(n), [[ct, cb], [cl, cr]] = n.attrs.crops as number[][];
    return out([x.shape[0] / (bh * bw), x.shape[1] * bh - ct - cb, x.shape[2] * bw - cl - cr, x.shape[3]]);
  },
  cpu: I.batchToSpaceNd,
  gpu: (c) => {
    const { bh, bw } = blocks(c.node), [[ct], [cl]] = c.node.attrs.crops as number[][];
    const [B, H, W, C] = c.inShape(0), N = B / (bh * bw);
    const decls = `fn pick(n0: u32, y: u32, x: u32, ch: u32) -> i32 {
  let yy = y + ${ct}u; let xw = x + ${cl}u;
  let b = ((yy % ${bh}u) * ${bw}u + xw % ${bw}u) * ${N}u + n0;
  return i32(((b * ${H}u + yy / ${bh}u) * ${W}u + xw / ${bw}u) * ${C}u + ch);
}`;
    return c.one(K.gatherBy(c.outShape, 'pick(c0, c1, c2, c3)', 0, '', decls), [c.node.inputs[0]]);
  },
} satisfies Partial<OpDefinition>;

// What converters write: the runtime populates BatchToSpaceND's parameters as BatchToSpace's and so never
// loads a BatchToSpaceND (MindSpore's own TFLite parser writes BatchToSpace for BATCH_TO_SPACE_ND).
defineOp({ name: 'BatchToSpace', fields: [['block_size', '[long]', null], ['crops', 'Vec2D', null]], layout: 'nhwc', ...batchToSpace });
// Read from other files only.
defineOp({ name: 'BatchToSpaceND', fields: [['block_shape', '[long]', null], ['crops', 'Vec2D', null]], layout: 'nhwc', ...batchToSpace });


defineOp({
  name: 'Stack', fields: [['axis', 'long', 0]], layout: 'fixed',
  infer: (n, ins) => {
    const axis = normAxis(n.attrs.axis as number, ins[0].shape.length + 1);
    return out([...ins[0].shape.slice(0, axis), ins.length, ...ins[0].shape.slice(axis)], ins[0].dtype);
  },
  cpu: I.stack,
  // Each input is a slice of thickness 1 along the new axis: Concat's copy kernel.
  gpu: (c) => {
    const axis = normAxis(c.node.attrs.axis as number, c.outShape.length);
    return {
      steps: c.node.inputs.map((id, k) => {
        const s = c.shapeOf(id);
        return { label: `${c.node.name}#${k}`, kernel: K.concatPart([...s.slice(0, axis), 1, ...s.slice(axis)], c.outShape, axis, k), inputs: [id], output: c.node.outputs[0] };
      }),
    };
  },
});

defineOp({
  name: 'Unstack', fields: [['axis', 'long', 0]], layout: 'fixed',
  infer: (n, [x]) => {
    const axis = normAxis(n.attrs.axis as number, x.shape.length);
    return Array.from({ length: x.shape[axis] }, () => ({ shape: x.shape.filter((_, d) => d !== axis), dtype: x.dtype }));
  },
  cpu: I.unstack,
});

defineOp({
  name: 'Fill', fields: [], layout: 'fixed',
  infer: (n, [dims, value]) => out(known(n, dims, 'its dims input'), value.dtype),
  cpu: I.fill,
});

defineOp({
  name: 'Rank', fields: [], layout: 'fixed',
  infer: (_n, [x]) => [{ shape: [], dtype: 'int32', data: Int32Array.of(x.shape.length) }],
  cpu: (_n, [x]) => [{ shape: [], data: Int32Array.of(x.shape.length) }],
});
