/**
 * Constant folding: every node whose inputs are all constants is evaluated once and replaced by its result
 * (`constfold_<node>`), and Shape of a statically shaped tensor becomes a constant (of a tensor with dynamic
 * dims it stays a runtime op). Runs to a fixpoint. The
 * evaluator is given by the caller (the CPU executor's runNode), so the passes import no executor.
 */
import { Graph } from '../graph.js';
import type { RT, RTData } from '../tensor.js';
import { inferShapes } from './shapes.js';
import { checkTensorSize } from '../validate.js';

export type Evaluate = (node: Graph['nodes'][number], inputs: RT[]) => RT[];

export function foldConstants(g: Graph, evaluate: Evaluate): void {
  for (;;) {
    let changed = false;
    for (const n of [...g.nodes]) {
      if (n.op === 'Shape' && !g.isConst(n.inputs[0])) {
        const shape = g.tensors[n.inputs[0]].shape;
        if (!shape.length || shape.includes(-1)) continue; // not inferred yet, or known only when running
        setConst(g, n.outputs[0], Int32Array.from(shape), [shape.length], `constfold_${n.name}`);
        g.nodes.splice(g.nodes.indexOf(n), 1);
        changed = true;
        continue;
      }
      if (!n.inputs.every((i) => i < 0 || g.isConst(i))) continue;
      const consts = n.inputs.filter((i) => i >= 0).map((i) => g.tensors[i]);
      if (consts.some((t) => !t.data)) continue; // compressed weights stay as they are
      // The inferred output shapes say what evaluating would allocate (a hostile ConstantOfShape).
      for (const o of n.outputs) checkTensorSize(g.tensors[o].name, g.tensors[o].shape);
      const outs = evaluate(n, consts.map((t) => ({ shape: t.shape, data: t.data! })));
      n.outputs.forEach((id, k) =>
        setConst(g, id, outs[k].data, outs[k].shape, n.outputs.length > 1 ? `${n.name}_const_${k}` : `constfold_${n.name}`),
      );
      g.nodes.splice(g.nodes.indexOf(n), 1);
      changed = true;
    }
    if (!changed) return;
    // Shapes of Shape-op inputs may only be known once folding let inference run through.
    if (g.nodes.some((n) => n.op === 'Shape')) inferShapes(g);
  }
}

function setConst(g: Graph, id: number, data: RTData, shape: number[], name: string) {
  const t = g.tensors[id];
  t.data = data;
  t.shape = [...shape];
  // Kernels write booleans as Uint8Array; integers as Int32Array; everything else as float32.
  t.dtype = data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'bool' : 'float32';
  if (!g.outputs.includes(id)) t.name = name;
}
