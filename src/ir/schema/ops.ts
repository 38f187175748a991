/**
 * MindSpore Lite schema vocabulary: the field types of op tables (each op's fields are declared with its
 * definition in src/ops/), primitive indices, and the schema enums used across the project.
 */
import { PRIMITIVE_TYPES } from './primitive-types.js';

export type FieldType = 'bool' | 'byte' | 'int' | 'long' | 'float' | '[long]' | '[int]' | '[float]' | 'string' | 'Vec2D';
/** [name, type, schema default] */
export type Field = readonly [string, FieldType, number | boolean | null];

export const PRIMITIVE_INDEX: Record<string, number> = Object.fromEntries(PRIMITIVE_TYPES.map((n, i) => [n, i]));

export const ActivationType = {
  NO_ACTIVATION: 0, RELU: 1, SIGMOID: 2, RELU6: 3, ELU: 4, LEAKY_RELU: 5, ABS: 6, TANH: 10, HSWISH: 12,
  HSIGMOID: 13, HARD_TANH: 16, SWISH: 18, GELU: 19, SOFTPLUS: 9,
} as const;
export const PadMode = { PAD: 0, SAME: 1, VALID: 2 } as const;
export const ReduceMode = { Mean: 0, Max: 1, Min: 2, Prod: 3, Sum: 4, SumSquare: 5, ASum: 6, All: 7, L2: 8 } as const;
export const ResizeMethod = { LINEAR: 0, NEAREST: 1, CUBIC: 2 } as const;
export const CoordinateTransformMode = { ASYMMETRIC: 0, ALIGN_CORNERS: 1, HALF_PIXEL: 2 } as const;
export const NearestMode = { NORMAL: 0, ROUND_HALF_DOWN: 1, ROUND_HALF_UP: 2, FLOOR: 3, CEIL: 4 } as const;

/** TypeId values written to Tensor.dataType. */
export const TypeId = {
  bool: 30, int8: 32, int16: 33, int32: 34, int64: 35, uint8: 37, float16: 42, float32: 43,
} as const;

/** Node.quantType (QuantType; 1-3 are deprecated forms of r1.2). */
export const QuantType = { QUANT_NONE: 0, WeightQuant: 2, QUANT_WEIGHT: 4, QUANT_ALL: 5, QUANT_DYNAMIC: 6 } as const;
