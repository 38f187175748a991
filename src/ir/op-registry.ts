/**
 * The op registry: what every stage knows about a MindSpore Lite op, declared once per op in `src/ops/` and
 * registered here. Importers map source ops onto these names; the `.ms` reader and writer take the table
 * fields from here; the passes take layout, activation fusion and shape rules; the quantizers take weight
 * slots and int8 behaviour; the CPU executor takes its kernels. (The GPU lowering registers beside it in
 * `src/gpu/lowering.ts`.) This module knows nothing of `src/ops`: definitions are registered into it by
 * `src/ops/index.ts`, which every entry point imports.
 */
import type { Graph, Node, DType } from './graph.js';
import type { Field } from './schema/ops.js';
import type { RT, RTData } from './tensor.js';

/**
 * How an op relates to the NCHW<->NHWC transposes the importers put around layout-sensitive ops:
 * - `unary`: one data input, elementwise; a transpose moves through it unchanged;
 * - `broadcast`: elementwise over broadcast inputs; constant inputs are permuted when a transpose moves through;
 * - `axis`: works along axes given by attributes or constant inputs; `permuteAxes` rewrites them;
 * - `nhwc`: computes on NHWC data (conv, pooling, Resize): the runtime requires its input labelled NHWC;
 * - `channel`: per-channel along the last (NHWC channel) axis;
 * - `fixed`: anything else; a transpose stops here.
 */
export type LayoutClass = 'unary' | 'broadcast' | 'axis' | 'nhwc' | 'channel' | 'fixed';

/** An input as shape rules and parameter decoders see it: its shape, and its values when known. */
export interface InputView {
  shape: number[];
  dtype: DType;
  data?: RTData;
}

export interface OutputInfo {
  shape: number[];
  dtype: DType;
  /** The values, when a rule knows them from shapes alone (Shape). */
  data?: RTData;
}

export type CpuKernel = (node: Node, inputs: RT[]) => RT[];
export type Int8Kernel = (node: Node, inputs: RT[], g: Graph) => RT[];

export interface WeightTraits {
  /** Input slots holding weights that weight quantization may store as integers. */
  slots: (node: Node) => number[];
  /** The axis per-channel params run along (MindSpore's GetPreferredDim, version >= 1.6.0); default 0. */
  preferredDim?: (g: Graph, node: Node, slot: number, rank: number) => number;
  /** Convolution-like: `min_quant_weight_channel` applies. */
  channelThreshold?: boolean;
}

export interface OpDef {
  name: string;
  /** The `.ms` table's fields in slot order (ops.fbs); they are also the node attribute names. */
  fields: readonly Field[];
  layout: LayoutClass;
  /** For `axis` ops: rewrite axes for data that arrives `perm`-transposed back; false if it cannot. */
  permuteAxes?: (g: Graph, node: Node, perm: number[]) => boolean;
  /** Has an `activation_type` slot that RELU / RELU6 may be fused into. */
  fusedActivation?: boolean;
  /** Folding: BatchNorm into the weights, a per-channel Add into the bias (slot 2). */
  foldsBias?: 'conv' | 'matmul';
  weights?: WeightTraits;
  /** Full quantization: `compute` runs int8 with a constant weight; `move` passes int8 data through. */
  int8?: 'compute' | 'move';
  /** Rewrites the node into the exact form MindSpore's converter writes, once shapes are known (e.g. explicit axes). */
  complete?: (g: Graph, node: Node) => void;
  /** Output shapes and dtypes from the inputs' shapes (and values when known); never from arithmetic. */
  infer: (node: Node, inputs: InputView[]) => OutputInfo[];
  cpu?: CpuKernel;
  int8Kernel?: Int8Kernel;
}

const registry = new Map<string, OpDef>();

export function registerOp(def: OpDef): void {
  if (registry.has(def.name)) throw new Error(`op ${def.name} is defined twice`);
  registry.set(def.name, def);
}

function loaded(): void {
  if (!registry.size) throw new Error("no op definitions are registered: import 'src/ops/index.js' first");
}

/** The definition of an op, or undefined for an op this project does not implement. */
export function findOp(name: string): OpDef | undefined {
  loaded();
  return registry.get(name);
}

export function allOps(): OpDef[] {
  loaded();
  return [...registry.values()];
}

/** Names of the ops with a given property, for messages ("supported: ...") and tests. */
export function opNames(where: (d: OpDef) => boolean = () => true): string[] {
  return allOps().filter(where).map((d) => d.name).sort();
}
