/**
 * GPU lowering registry: each op's definition (`src/ops/`) registers how a node becomes GPU steps (a WGSL
 * kernel plus the tensors it reads and writes) for the shapes of the batch being run. Reshape-like ops become
 * buffer aliases.
 */
import type { Graph, Node } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import type { RT } from '../ir/tensor.js';
import type { Kernel } from '../shaders/kernels.js';
import { findOp } from '../ir/op-registry.js';

export interface Step {
  label: string;
  kernel: Kernel;
  /** Tensor ids bound in order as in0, in1, ... */
  inputs: number[];
  output: number;
}

/**
 * A node becomes GPU steps, an alias of its first input's buffer, or a host step: an op with a CPU kernel but
 * no WGSL one (recurrences, sorts, scatters) runs on the CPU between two GPU segments.
 */
export type Lowered = { steps: Step[] } | { alias: number } | { host: true };

/** What a lowering sees of its node: shapes at the batch being run, constant inputs, the fused activation. */
export class LowerContext {
  constructor(readonly g: Graph, readonly node: Node, readonly shapeOf: (id: number) => number[]) {}

  inShape(k: number): number[] {
    return this.shapeOf(this.node.inputs[k]);
  }

  get outShape(): number[] {
    return this.shapeOf(this.node.outputs[0]);
  }

  get act(): number {
    return (this.node.attrs.activation_type as number) ?? 0;
  }

  /** A constant input (perm, axes, pads, indices), baked into the kernel; undefined when the slot is empty. */
  constOf(slot: number, what: string): RT | undefined {
    const id = this.node.inputs[slot];
    if (id === undefined || id < 0) return undefined;
    const t = this.g.tensors[id];
    if (!t.data) throw new NotConstant(`${this.node.op} ${this.node.name}: ${what} must be a constant to run on the GPU`);
    return { shape: t.shape, data: t.data };
  }

  /** One kernel writing the node's first output, reading `inputs` (default: all of the node's inputs). */
  one(kernel: Kernel, inputs = this.node.inputs): Lowered {
    return { steps: [{ label: this.node.name, kernel, inputs, output: this.node.outputs[0] }] };
  }

  /** The output shares the first input's buffer (same data, another shape). */
  alias(): Lowered {
    return { alias: this.node.inputs[0] };
  }
}

/** A lowering met a computed input its kernel bakes in (indices from data): the node runs on the host. */
class NotConstant extends UserError {}

export type GpuLowering = (c: LowerContext) => Lowered;

const lowerings = new Map<string, GpuLowering>();

export function registerLowering(op: string, lower: GpuLowering): void {
  lowerings.set(op, lower);
}

export function hasLowering(op: string): boolean {
  return lowerings.has(op);
}

export function lowerNode(g: Graph, node: Node, shapeOf: (id: number) => number[]): Lowered {
  const lower = lowerings.get(node.op);
  if (!lower && findOp(node.op)?.cpu) return { host: true };
  if (!lower) throw new UserError(`op ${node.op} (node ${node.name}) has no GPU kernel`);
  try {
    return lower(new LowerContext(g, node, shapeOf));
  } catch (e) {
    if (e instanceof NotConstant && findOp(node.op)?.cpu) return { host: true };
    throw e;
  }
}
