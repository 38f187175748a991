/**
 * MindSpore Lite op tables (ops.fbs, MODERN), field lists in slot order. The .ms writer and reader are
 * generic over these descriptions, so adding an op is one line here. Field names are the schema's and are
 * used unchanged as node attribute names throughout the project.
 */
import { PRIMITIVE_TYPES } from './primitive-types.js';

export type FieldType = 'bool' | 'byte' | 'int' | 'long' | 'float' | '[long]' | '[int]' | '[float]' | 'string' | 'Vec2D';
/** [name, type, schema default] */
export type Field = readonly [string, FieldType, number | boolean | null];

const act: Field = ['activation_type', 'byte', 0];
const pool: Field[] = [
  ['kernel_size', '[long]', null], ['strides', '[long]', null], ['pad', '[long]', null], ['pad_mode', 'byte', 0],
  ['round_mode', 'byte', 0], ['format', 'int', 0], ['global', 'bool', false], act,
];

export const OP_TABLES: Record<string, readonly Field[]> = {
  Abs: [],
  Activation: [act, ['alpha', 'float', 0], ['min_val', 'float', 0], ['max_val', 'float', 0], ['approximate', 'bool', false]],
  AddFusion: [act],
  AvgPoolFusion: pool,
  BiasAdd: [['format', 'int', 0]],
  Cast: [],
  Clip: [['max', 'float', 0], ['min', 'float', 0]],
  Concat: [['axis', 'long', 0]],
  Conv2DFusion: [
    ['format', 'int', 0], ['kernel_size', '[long]', null], ['stride', '[long]', null], ['dilation', '[long]', null],
    ['pad_mode', 'byte', 0], ['pad_list', '[long]', null], ['mode', 'long', 0], ['group', 'long', 0],
    ['in_channel', 'long', 0], ['out_channel', 'long', 0], act,
  ],
  Conv2dTransposeFusion: [
    ['format', 'int', 0], ['kernel_size', '[long]', null], ['stride', '[long]', null], ['dilation', '[long]', null],
    ['pad_mode', 'byte', 0], ['pad', '[long]', null], ['pad_list', '[long]', null], ['mode', 'long', 0],
    ['group', 'long', 0], ['in_channel', 'long', 0], ['out_channel', 'long', 0], act, ['output_paddings', '[long]', null],
  ],
  DivFusion: [act],
  Eltwise: [['mode', 'byte', 0]],
  ExpFusion: [['base', 'float', -1], ['scale', 'float', 1], ['shift', 'float', 0]],
  ExpandDims: [],
  Flatten: [['axis', 'long', 1]],
  FullConnection: [['has_bias', 'bool', false], ['use_axis', 'bool', false], ['axis', 'long', 0], act],
  FusedBatchNorm: [['epsilon', 'float', 0.0001], ['momentum', 'float', 0.9], ['mode', 'long', 0]],
  Gather: [],
  LeakyRelu: [['negative_slope', 'float', 0]],
  MatMulFusion: [['transpose_a', 'bool', false], ['transpose_b', 'bool', false], act],
  Maximum: [],
  MaxPoolFusion: pool,
  Minimum: [],
  MulFusion: [act],
  Neg: [],
  PadFusion: [['paddings', 'Vec2D', null], ['padding_mode', 'byte', 0], ['constant_value', 'float', 0]],
  PowFusion: [['scale', 'float', 1], ['shift', 'float', 0]],
  PReLUFusion: [['channel_shared', 'bool', false]],
  QuantDTypeCast: [['src_t', 'long', 0], ['dst_t', 'long', 0], ['axis', 'long', 0]],
  ReduceFusion: [['keep_dims', 'bool', false], ['mode', 'byte', 0], ['reduce_to_end', 'bool', false], ['coeff', 'float', 0]],
  Reshape: [],
  Resize: [
    ['format', 'int', 0], ['method', 'byte', 0], ['new_height', 'long', 0], ['new_width', 'long', 0],
    ['preserve_aspect_ratio', 'bool', false], ['coordinate_transform_mode', 'byte', 0], ['cubic_coeff', 'float', 0],
    ['exclude_outside', 'long', 0], ['extrapolation_value', 'float', 0], ['nearest_mode', 'byte', 0],
  ],
  ScaleFusion: [['axis', 'long', 0], act],
  Shape: [],
  SliceFusion: [['axes', '[long]', null]],
  Softmax: [['axis', '[long]', null]],
  Split: [['output_num', 'long', 0], ['size_splits', '[long]', null], ['axis', 'long', 0]],
  Sqrt: [],
  Squeeze: [['axis', '[long]', null]],
  StridedSlice: [
    ['begin_mask', 'long', 0], ['end_mask', 'long', 0], ['ellipsis_mask', 'long', 0], ['new_axis_mask', 'long', 0],
    ['shrink_axis_mask', 'long', 0],
  ],
  SubFusion: [act],
  Transpose: [],
  Unsqueeze: [['axis', '[long]', null]],
};

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
