/** The axis per-channel weight quant params run along (MindSpore's GetPreferredDim, version >= 1.6.0 rules). */
import type { Graph, Node } from '../ir/graph.js';
import { findOp } from '../ir/op-registry.js';

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^MindSpore Lite (\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

export function preferredDim(g: Graph, node: Node, inputIndex: number): number {
  const rank = g.tensors[node.inputs[inputIndex]].shape.length;
  // Before 1.6.0 every weight is channel-first, except MatMul operands stored transposed.
  if (!versionAtLeast(g.version, 1, 6)) {
    const a = node.attrs;
    if (node.op === 'MatMulFusion') return inputIndex === 0 ? (a.transpose_a ? 1 : 0) : a.transpose_b ? 0 : 1;
    return 0;
  }
  if (node.op === 'Conv2dTransposeFusion' && !versionAtLeast(g.version, 1, 8)) return 0;
  return findOp(node.op)?.weights?.preferredDim?.(g, node, inputIndex, rank) ?? 0;
}

/** Index of element j's channel along `dim` of `shape`. */
export function channelOf(shape: number[], dim: number): (j: number) => number {
  let inner = 1;
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i];
  const ch = shape[dim] ?? 1;
  return (j) => Math.floor(j / inner) % ch;
}
