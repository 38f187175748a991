/**
 * Shape inference from the op definitions' shape rules: every tensor's shape and dtype, plus the values of
 * small integer tensors along shape subgraphs (Shape -> Gather -> Concat -> Reshape), computed from shapes
 * alone. No kernel ever runs on activations to learn a shape, so inference costs the same at any image size.
 */
import { Graph, sizeOf, UserError } from '../graph.js';
import type { Tensor } from '../graph.js';
import { findOp, InputView } from '../op-registry.js';

/** Integer tensors up to this many values are tracked through shape subgraphs. */
const TRACKED_VALUES = 4096;
/** Float tensors this small (a Resize scales vector built by Concat) are tracked too. */
const TRACKED_FLOATS = 8;

function constView(t: Tensor): InputView {
  return { shape: t.shape, dtype: t.dtype, data: t.data };
}

/** Shape, dtype and (where known) values of every graph input, constant and node output. */
export function tensorInfo(g: Graph, inputShape: (id: number) => number[] = (id) => g.tensors[id].shape): Map<number, InputView> {
  const info = new Map<number, InputView>();
  for (const id of g.inputs) info.set(id, { shape: [...inputShape(id)], dtype: g.tensors[id].dtype });
  const view = (id: number): InputView => info.get(id) ?? constView(g.tensors[id]);
  for (const node of g.nodes) {
    const def = findOp(node.op);
    if (!def) throw new UserError(`op ${node.op} (node ${node.name}) is not supported`);
    const ins = node.inputs.filter((id) => id >= 0).map(view);
    const outs = def.infer(node, ins);
    const small = outs.every((o) => ((o.dtype === 'int32' || o.dtype === 'bool') && sizeOf(o.shape) <= TRACKED_VALUES) || (o.dtype === 'float32' && sizeOf(o.shape) <= TRACKED_FLOATS));
    if (small && def.cpu && outs.some((o) => !o.data) && ins.every((v) => v.data && sizeOf(v.shape) <= TRACKED_VALUES)) {
      const values = def.cpu(node, ins.map((v) => ({ shape: v.shape, data: v.data! })));
      outs.forEach((o, k) => (o.data = values[k]?.data));
    }
    node.outputs.forEach((id, k) => outs[k] && info.set(id, outs[k]));
  }
  return info;
}

/**
 * Graph inputs with symbolic dims (-1) are inferred twice, with the symbols set to two probe sizes (batch 1 and
 * 2; other dims 224 and 256): a dim or a tracked value that differs between the runs depends on the input size
 * and is -1 / unknown; one that agrees is static. So shape subgraphs of dynamic dims stay runtime ops, and the
 * static dims (channels, a fixed height) are still known to the passes.
 */
const PROBES = [{ batch: 1, other: 224 }, { batch: 2, other: 256 }];

export const hasDynamicInputs = (g: Graph) => g.inputs.some((id) => g.tensors[id].shape.some((d) => d < 0));

function probeInfo(g: Graph): Map<number, InputView> {
  const [a, b] = PROBES.map((p) => {
    try {
      return tensorInfo(g, (id) => g.tensors[id].shape.map((d, k) => (d >= 0 ? d : k === 0 ? p.batch : p.other)));
    } catch (e) {
      throw new UserError(`${(e as Error).message} (with its symbolic input dims at ${p.batch} and ${p.other}: fix them with --inputShape)`);
    }
  });
  const merged = new Map<number, InputView>();
  for (const [id, va] of a) {
    const vb = b.get(id)!;
    if (va.shape.length !== vb.shape.length)
      throw new UserError(`tensor ${g.tensors[id].name}: its rank depends on the input size; fix the input dims with --inputShape`);
    const same = va.data && vb.data && va.data.length === vb.data.length && va.data.every((v, k) => v === vb.data![k]);
    merged.set(id, { shape: va.shape.map((d, k) => (d === vb.shape[k] ? d : -1)), dtype: va.dtype, data: same ? va.data : undefined });
  }
  for (const id of g.inputs) merged.set(id, { shape: [...g.tensors[id].shape], dtype: g.tensors[id].dtype });
  return merged;
}

/**
 * Records every node output's shape and dtype on the graph (int32 and bool tensors as such, the rest float32);
 * dims that depend on symbolic input dims are -1.
 */
export function inferShapes(g: Graph): void {
  const info = hasDynamicInputs(g) ? probeInfo(g) : tensorInfo(g);
  for (const n of g.nodes)
    for (const id of n.outputs) {
      const v = info.get(id);
      if (!v) continue;
      g.tensors[id].shape = [...v.shape];
      g.tensors[id].dtype = v.dtype === 'int32' || v.dtype === 'bool' ? v.dtype : 'float32';
    }
}

/**
 * Every tensor's shape with `batch` samples, or undefined when the graph does not scale with the batch: every
 * activation must keep its batch-1 shape with dim 0 multiplied by the batch.
 */
export function batchShapes(g: Graph, batch: number): Map<number, number[]> | undefined {
  const declared = (id: number) => g.tensors[id].shape;
  let info: Map<number, InputView>;
  try {
    info = tensorInfo(g, (id) => [batch * (declared(id)[0] ?? 1), ...declared(id).slice(1)]);
  } catch (e) {
    if (batch === 1) throw e;
    return undefined;
  }
  const shapes = new Map<number, number[]>();
  for (const [id, v] of info) {
    shapes.set(id, v.shape);
    if (batch === 1 || g.isConst(id)) continue;
    const d = declared(id), s = v.shape;
    if (s.length !== d.length || s[0] !== d[0] * batch || s.some((x, k) => k > 0 && x !== d[k])) return undefined;
  }
  return shapes;
}

/**
 * The graph to run with `batch` samples per pass. Exported models often bake batch 1 into Reshape targets
 * ([1, 256], [1, -1, 2]); a view of the graph with those leading 1s scaled by the batch is used when, and only
 * when, every activation then scales exactly with the batch. Undefined: run one sample per pass.
 */
export function batchedGraph(g: Graph, batch: number): { graph: Graph; shapes: Map<number, number[]> } | undefined {
  const direct = batchShapes(g, batch);
  if (direct) return { graph: g, shapes: direct };
  const b0 = g.inputs.length ? g.tensors[g.inputs[0]].shape[0] : 1;
  const view = Object.assign(Object.create(Object.getPrototypeOf(g)), g) as Graph;
  view.tensors = [...g.tensors];
  let changed = false;
  for (const n of g.nodes) {
    const id = n.inputs[1];
    const t = n.op === 'Reshape' && id !== undefined ? g.tensors[id] : undefined;
    if (!t?.data || t.data[0] !== b0) continue;
    const data = Int32Array.from(t.data as ArrayLike<number>);
    data[0] = b0 * batch;
    view.tensors[id] = { ...t, data } as Tensor;
    changed = true;
  }
  const shapes = changed ? batchShapes(view, batch) : undefined;
  return shapes ? { graph: view, shapes } : undefined;
}
