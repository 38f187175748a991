/** The pass pipeline that brings any imported graph into MindSpore Lite form. */
import { Graph } from '../graph.js';
import { foldConstants, Evaluate } from './fold-constants.js';
import { eliminateTransposes } from './transposes.js';
import { foldBatchNorm, foldBiasAdd, fuseActivations, fuseHardSwish, fuseLayerNorm } from './fuse.js';
import { inferShapes } from './shapes.js';
import { assignFormats } from '../formats.js';
import { findOp } from '../op-registry.js';

/** `evaluate` runs one node on constant inputs (the CPU executor's runNode) for constant folding. */
export function toMindSporeForm(g: Graph, evaluate: Evaluate): Graph {
  removeIdentities(g);
  inferShapes(g);
  foldConstants(g, evaluate);
  eliminateTransposes(g);
  foldBatchNorm(g);
  foldBiasAdd(g);
  fuseActivations(g);
  fuseHardSwish(g);
  fuseLayerNorm(g);
  g.removeDeadNodes();
  g.compact();
  g.topoSort();
  inferShapes(g);
  for (const n of g.nodes) findOp(n.op)?.complete?.(g, n);
  nameTensors(g);
  assignFormats(g);
  return g;
}

/** Transposes with an identity perm do nothing. */
function removeIdentities(g: Graph): void {
  for (const n of [...g.nodes]) {
    if (n.op !== 'Transpose') continue;
    const p = g.tensors[n.inputs[1]]?.data;
    if (p && Array.from(p).every((v, i) => v === i) && !g.outputs.includes(n.outputs[0])) {
      g.replaceUses(n.outputs[0], n.inputs[0]);
      g.nodes.splice(g.nodes.indexOf(n), 1);
    }
  }
}

/** Op outputs are named after their node (`<node>_o:<i>` for several); graph outputs keep the source names. */
function nameTensors(g: Graph): void {
  const outs = new Set(g.outputs);
  for (const n of g.nodes)
    n.outputs.forEach((id, i) => {
      if (!outs.has(id)) g.tensors[id].name = n.outputs.length > 1 ? `${n.name}_o:${i}` : n.name;
    });
}
