/** The pass pipeline that brings any imported graph into MindSpore Lite form. */
import { Graph, UserError } from '../graph.js';
import { foldConstants, Evaluate } from './fold-constants.js';
import { eliminateTransposes } from './transposes.js';
import { foldBatchNorm, foldBiasAdd, fuseActivations, fuseHardSwish, fuseLayerNorm, fusePadIntoConv } from './fuse.js';
import { inferShapes, hasDynamicInputs } from './shapes.js';
import { unrollRecurrent } from './unroll-rnn.js';
import { exactResize } from './exact-resize.js';
import { lowerWithShapes } from './lower-with-shapes.js';
import { assignFormats } from '../formats.js';
import { findOp } from '../op-registry.js';

/** `evaluate` runs one node on constant inputs (the CPU executor's runNode) for constant folding. */
export function toMindSporeForm(g: Graph, evaluate: Evaluate): Graph {
  removeIdentities(g);
  inferShapes(g);
  // These lowerings need shapes; what they write is shape-inferred again.
  if ([unrollRecurrent(g), exactResize(g), lowerWithShapes(g)].some(Boolean)) inferShapes(g);
  foldConstants(g, evaluate);
  eliminateTransposes(g);
  foldBatchNorm(g);
  foldBiasAdd(g);
  fuseActivations(g);
  fuseHardSwish(g);
  fuseLayerNorm(g);
  fusePadIntoConv(g);
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

/**
 * The graph at concrete input shapes (one per graph input): symbolic dims fixed, shape subgraphs folded to
 * constants. Tensor ids are kept, so statistics and outputs of the specialized graph are the original's. A
 * graph without symbolic dims is returned as is.
 */
export function specialize(g: Graph, inputShapes: number[][], evaluate: Evaluate): Graph {
  if (!hasDynamicInputs(g)) return g;
  const s = g.clone();
  s.inputs.forEach((id, k) => {
    const declared = g.tensors[id].shape, given = inputShapes[k];
    if (!given || given.length !== declared.length || declared.some((d, i) => d >= 0 && d !== given[i]))
      throw new UserError(`input ${g.tensors[id].name}: shape [${given}] does not fit the model's [${declared}]`);
    s.tensors[id].shape = [...given];
  });
  inferShapes(s);
  foldConstants(s, evaluate);
  s.removeDeadNodes();
  return s;
}

/**
 * The shape of one sample of input `k` given its value count: a symbolic batch dim is 1, and one other
 * symbolic dim is solved from the count; more than one needs the dims given (--inputShape / --inputShapes).
 */
export function sampleShape(g: Graph, k: number, count: number): number[] {
  const t = g.tensors[g.inputs[k]];
  const shape = t.shape.map((d, i) => (d < 0 && i === 0 ? 1 : d));
  const free = shape.filter((d) => d < 0).length;
  if (free === 0) return shape;
  const known = shape.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
  if (free > 1 || count % known) throw new UserError(`input ${t.name} has dynamic dims [${t.shape}]: ${count} values do not say them; give them with --inputShape`);
  return shape.map((d) => (d < 0 ? count / known : d));
}
