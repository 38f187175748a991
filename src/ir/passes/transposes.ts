/**
 * Removes the format transposes the importers put around layout-sensitive ops, as MindSpore's
 * DecreaseTransposeAlgo does: a transpose is pushed down through layout-agnostic ops when every data input of
 * the op comes from a transpose with the same perm (constants are permuted to match, axis attributes
 * remapped), and consecutive transposes are merged, vanishing when they compose to the identity.
 */
import { Graph, Node, sizeOf } from '../graph.js';
import { composePerm, inversePerm, isIdentity, permuteConst, addTranspose } from '../layout.js';
import { findOp } from '../op-registry.js';

/** How the op's definition says a transpose moves through it; undefined when it cannot. */
function layoutOf(op: string): 'unary' | 'broadcast' | 'axis' | undefined {
  const l = findOp(op)?.layout;
  return l === 'unary' || l === 'broadcast' || l === 'axis' ? l : undefined;
}

export function eliminateTransposes(g: Graph): void {
  let changed = true;
  while (changed) {
    changed = mergeTransposes(g);
    changed = pushOne(g) || changed;
    g.removeDeadNodes();
  }
}

function transposePerm(g: Graph, n: Node): number[] | undefined {
  if (n.op !== 'Transpose') return undefined;
  const p = g.tensors[n.inputs[1]]?.data;
  return p ? Array.from(p) : undefined;
}

/** T2(T1(x)) -> T(x) with the composed perm; the identity disappears. */
function mergeTransposes(g: Graph): boolean {
  let changed = false;
  const prod = g.producers();
  for (const t2 of [...g.nodes]) {
    const p2 = transposePerm(g, t2);
    if (!p2) continue;
    const t1 = prod.get(t2.inputs[0]);
    const p1 = t1 && transposePerm(g, t1);
    if (!t1 || !p1) continue;
    const p = composePerm(p1, p2);
    const x = t1.inputs[0];
    if (isIdentity(p)) {
      const out = t2.outputs[0];
      if (g.outputs.includes(out)) {
        // Keep the graph output's name: the tensor before the pair takes it, if it is free to.
        if (g.inputs.includes(x) || g.outputs.includes(x) || g.isConst(x)) continue;
        g.tensors[x].name = g.tensors[out].name;
      }
      g.replaceUses(out, x);
      g.nodes.splice(g.nodes.indexOf(t2), 1);
    } else {
      t2.inputs = [x, g.addConst(`${t2.name}_perm`, Int32Array.from(p), [p.length])];
    }
    changed = true;
  }
  return changed;
}

/** Pushes transposes below one agnostic op; returns whether anything moved. */
function pushOne(g: Graph): boolean {
  const prod = g.producers();
  for (const n of g.nodes) {
    if (!layoutOf(n.op)) continue;
    const dataSlots = n.inputs.map((_, i) => i).filter((i) => n.inputs[i] >= 0 && !g.isConst(n.inputs[i]));
    if (!dataSlots.length) continue;
    let perm: number[] | undefined;
    let ok = true;
    for (const i of dataSlots) {
      const p = prod.get(n.inputs[i]);
      const pp = p && transposePerm(g, p);
      if (!pp || (perm && pp.join() !== perm.join())) { ok = false; break; }
      perm = pp;
    }
    if (!ok || !perm) continue;
    const rewritten = rewriteInputs(g, n, perm, dataSlots);
    if (!rewritten) continue;
    for (const i of dataSlots) n.inputs[i] = prod.get(n.inputs[i])!.inputs[0];
    // The op now produces the pre-transpose layout; a transpose after it restores the old tensors.
    const name = n.outputs.length > 1 ? undefined : `${n.name}_post`;
    n.outputs = n.outputs.map((out, k) => {
      const inner = g.addTensor({ name: `${g.tensors[out].name}_pre_post` });
      addTranspose(g, inner, perm!, name ?? `${n.name}_post_${k}`, out);
      return inner;
    });
    g.topoSort();
    return true;
  }
  return false;
}

/** Rewrites constants and attributes of `n` for data that is `perm`-transposed back; false if it cannot. */
function rewriteInputs(g: Graph, n: Node, perm: number[], dataSlots: number[]): boolean {
  const rank = perm.length;
  const inv = inversePerm(perm);
  const layout = layoutOf(n.op);
  if (layout === 'broadcast') {
    const consts = n.inputs.map((_, i) => i).filter((i) => !dataSlots.includes(i) && n.inputs[i] >= 0);
    for (const i of consts) if (g.tensors[n.inputs[i]].shape.length > rank) return false;
    for (const i of consts) {
      const t = g.tensors[n.inputs[i]];
      if (sizeOf(t.shape) === 1) continue; // scalars broadcast the same either way
      const full = [...Array(rank - t.shape.length).fill(1), ...t.shape];
      const p = permuteConst(t.data!, full, inv);
      n.inputs[i] = g.addConst(t.name, p.data, p.shape, t.format);
    }
    return true;
  }
  if (layout === 'unary') return true;
  if (n.op === 'Concat') {
    // every input of a Concat is data: a constant one joins in the new layout too
    const consts = n.inputs.map((_, i) => i).filter((i) => !dataSlots.includes(i) && n.inputs[i] >= 0);
    if (consts.some((i) => g.tensors[n.inputs[i]].shape.length !== rank || !g.tensors[n.inputs[i]].data)) return false;
    for (const i of consts) {
      const t = g.tensors[n.inputs[i]];
      const p = permuteConst(t.data!, t.shape, inv);
      n.inputs[i] = g.addConst(t.name, p.data, p.shape, t.format);
    }
  }
  return findOp(n.op)!.permuteAxes?.(g, n, perm) ?? false;
}
