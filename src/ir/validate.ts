/**
 * Checks of a graph from an untrusted file, with one clear line per problem: outputs exist, graph inputs
 * have positive (or symbolic) dims, and no tensor would exceed MindSpore Lite's 2 GB limit once shapes are
 * known. Shape rules check their op's attributes (see op-params); these checks are about the graph.
 */
import { Graph, UserError, bytesPerElement } from './graph.js';

/** The largest tensor accepted: MindSpore Lite's loader refuses files over 2 GB. */
export const MAX_TENSOR_BYTES = 2 ** 31;

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(bytes < 1e10 ? 1 : 0)} GB`;

/** One tensor of `shape`: refused over MAX_TENSOR_BYTES, naming it (symbolic dims count as 1). */
export function checkTensorSize(name: string, shape: readonly number[], elementBytes = 4): void {
  let count = 1;
  for (const d of shape) count *= d < 0 ? 1 : d;
  if (count * elementBytes > MAX_TENSOR_BYTES)
    throw new UserError(`tensor ${name} [${shape}] would need ${gb(count * elementBytes)} (the limit is 2 GiB, as MindSpore Lite's)`);
}

/** What an imported graph must be before the passes run. */
export function checkImported(g: Graph, file: string): void {
  if (!g.outputs.length) throw new UserError(`${file}: the graph has no outputs`);
  for (const id of g.inputs) {
    const t = g.tensors[id];
    const k = t.shape.findIndex((d) => !Number.isInteger(d) || (d < 1 && d !== -1));
    if (k >= 0) throw new UserError(`${file}: input ${t.name} has dim ${t.shape[k]} at axis ${k} [${t.shape}] (dims must be positive or symbolic)`);
  }
}

/** After shape inference: every tensor's shape is sane and within the size limit. */
export function checkShapes(g: Graph, file: string): void {
  g.tensors.forEach((t) => {
    if (t.shape.some((d) => !Number.isInteger(d) || d < -1)) throw new UserError(`${file}: tensor ${t.name} has shape [${t.shape}]`);
    try {
      checkTensorSize(t.name, t.shape, bytesPerElement[t.dtype] ?? 4);
    } catch (e) {
      throw new UserError(`${file}: ${(e as Error).message}`);
    }
  });
}
