/**
 * Constant folding: every node whose inputs are all constants is executed once and replaced by its result
 * (`constfold_<node>`), and Shape of a statically shaped tensor becomes a constant. Runs to a fixpoint.
 */
import { Graph } from '../graph.js';
import { runNode, constValue } from '../../cpu/executor.js';
import { inferShapes } from './shapes.js';

export function foldConstants(g: Graph): void {
  for (;;) {
    let changed = false;
    for (const n of [...g.nodes]) {
      if (n.op === 'Shape' && !g.isConst(n.inputs[0])) {
        const shape = g.tensors[n.inputs[0]].shape;
        if (!shape.length) continue; // not inferred yet
        setConst(g, n.outputs[0], Int32Array.from(shape), [shape.length], `constfold_${n.name}`);
        g.nodes.splice(g.nodes.indexOf(n), 1);
        changed = true;
        continue;
      }
      if (!n.inputs.every((i) => i < 0 || g.isConst(i))) continue;
      const outs = runNode(n, n.inputs.filter((i) => i >= 0).map((i) => constValue(g.tensors[i])));
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

function setConst(g: Graph, id: number, data: Float32Array | Int32Array | Int8Array | Uint8Array | Int16Array, shape: number[], name: string) {
  const t = g.tensors[id];
  t.data = data;
  t.shape = [...shape];
  t.dtype = data instanceof Int32Array ? 'int32' : 'float32';
  if (!g.outputs.includes(id)) t.name = name;
}
