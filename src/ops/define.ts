/**
 * `defineOp`: one call per MindSpore Lite op declares everything every stage needs (see ir/op-registry.ts)
 * and registers it: the traits and CPU kernels into the ir registry, the GPU lowering beside them.
 */
import { registerOp, OpDef, InputView, OutputInfo } from '../ir/op-registry.js';
import { registerLowering, GpuLowering } from '../gpu/lowering.js';
import type { Graph, Node, DType } from '../ir/graph.js';
import { UserError } from '../ir/graph.js';
import { broadcastShape } from '../ir/tensor.js';
import type { Field } from '../ir/schema/ops.js';

export interface OpDefinition extends OpDef {
  gpu?: GpuLowering;
}

export function defineOp(d: OpDefinition): void {
  const { gpu, ...def } = d;
  registerOp(def);
  if (gpu) registerLowering(d.name, gpu);
}

/** The fused `activation_type` field of ops.fbs. */
export const ACT: Field = ['activation_type', 'byte', 0];

/** Shape rules shared by many ops. */
export const sameAsInput = (_n: Node, [x]: InputView[]): OutputInfo[] => [{ shape: [...x.shape], dtype: x.dtype }];
export const floatLikeInput = (_n: Node, [x]: InputView[]): OutputInfo[] => [{ shape: [...x.shape], dtype: 'float32' }];
export const out = (shape: number[], dtype: DType = 'float32'): OutputInfo[] => [{ shape, dtype }];

/** Numpy broadcasting of the first two inputs; integer only when both are. */
export function broadcastInfer(n: Node, [a, b]: InputView[]): OutputInfo[] {
  return out(broadcastShape(a.shape, b.shape, `${n.op} ${n.name}`), a.dtype === 'int32' && b.dtype === 'int32' ? 'int32' : 'float32');
}

/** Slots 1.. of a node that are present (-1 marks an omitted optional input). */
export const present = (n: Node, slot: number) => n.inputs[slot] !== undefined && n.inputs[slot] >= 0;

/**
 * The input's shape for a `complete` hook that writes explicit geometry (SAME_LOWER pads, ONNX output_shape):
 * the .ms has no field for these forms, so H and W must be known when converting.
 */
export function staticInputShape(g: Graph, n: Node, why: string): number[] {
  const shape = g.tensors[n.inputs[0]].shape;
  if (shape.slice(1, 3).some((d) => d < 0))
    throw new UserError(`${n.op} ${n.name}: ${why} is written as explicit pads, which needs the input's H and W; fix the input dims with --inputShape`);
  return shape;
}
