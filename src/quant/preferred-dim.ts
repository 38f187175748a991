/** The axis per-channel weight quant params run along (MindSpore's GetPreferredDim, version >= 1.6.0 rules). */
import type { Graph, Node } from '../ir/graph.js';

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^MindSpore Lite (\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

export function preferredDim(g: Graph, node: Node, inputIndex: number): number {
  const rank = g.tensors[node.inputs[inputIndex]].shape.length;
  const a = node.attrs;
  if (!versionAtLeast(g.version, 1, 6)) {
    if (node.op === 'MatMulFusion') return inputIndex === 0 ? (a.transpose_a ? 1 : 0) : a.transpose_b ? 0 : 1;
    return 0;
  }
  switch (node.op) {
    case 'MatMulFusion':
      if (inputIndex === 0) return a.transpose_a ? rank - 1 : rank - 2;
      return a.transpose_b ? rank - 2 : rank - 1;
    case 'Conv2dTransposeFusion': {
      if (!versionAtLeast(g.version, 1, 8)) return 0;
      const depthwise = a.in_channel === a.out_channel && a.group === a.in_channel && (a.group as number) > 1;
      return depthwise ? 0 : rank - 1;
    }
    case 'Gather': {
      const axisT = node.inputs[2] !== undefined ? g.tensors[node.inputs[2]].data : undefined;
      return axisT ? axisT[0] : ((a.axis as number) ?? 0);
    }
    default:
      return 0;
  }
}

/** Index of element j's channel along `dim` of `shape`. */
export function channelOf(shape: number[], dim: number): (j: number) => number {
  let inner = 1;
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i];
  const ch = shape[dim] ?? 1;
  return (j) => Math.floor(j / inner) % ch;
}
