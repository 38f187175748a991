/**
 * The primitive types MindSpore Lite's runtime can load: those with a parameter populate function
 * (`REG_POPULATE(PrimitiveType_<op>, ...)` in mindspore-lite `src/common/ops/populate/`, commit 2b28870).
 * A node of any other type fails at load ("PopulateParameter return nullptr"). BatchToSpaceND is left out
 * though it is registered: its populate reads the BatchToSpace table, which a BatchToSpaceND primitive is not.
 */
export const RUNTIME_LOADABLE_OPS: ReadonlySet<string> = new Set([
  'Abs', 'AbsGrad', 'Activation', 'ActivationGrad', 'Adam', 'AddFusion', 'AddN', 'AdderFusion', 'Affine',
  'AllGather', 'ArgMaxFusion', 'ArgMinFusion', 'Assert', 'Assign', 'AssignAdd', 'Attention', 'AudioSpectrogram',
  'AvgPoolFusion', 'BatchNorm', 'BatchToSpace', 'BiasAdd', 'BiasAddGrad', 'BroadcastTo', 'Call', 'Cast', 'Ceil',
  'Clip', 'Concat', 'ConstantOfShape', 'Conv2DFusion', 'Conv2dTransposeFusion', 'Cos', 'Crop', 'CropAndResize',
  'CumSum', 'CustomExtractFeatures', 'CustomNormalize', 'CustomPredict', 'Depend', 'DepthToSpace',
  'DetectionPostProcess', 'DivFusion', 'DynamicQuant', 'Eltwise', 'EmbeddingLookupFusion', 'Equal', 'Erf',
  'ExpFusion', 'ExpandDims', 'Fill', 'FillV2', 'Flatten', 'Floor', 'FloorDiv', 'FloorMod', 'FullConnection',
  'FusedBatchNorm', 'GLU', 'GRU', 'Gather', 'GatherD', 'GatherNd', 'Greater', 'GreaterEqual', 'GroupNormFusion',
  'HashtableLookup', 'InstanceNorm', 'InvertPermutation', 'IsFinite', 'L2NormalizeFusion', 'LRN', 'LSTM',
  'LayerNormFusion', 'LayerNormGrad', 'Less', 'LessEqual', 'LinSpace', 'Log', 'Log1p', 'LogGrad', 'LogSoftmax',
  'LogicalAnd', 'LogicalNot', 'LogicalOr', 'LshProjection', 'MatMulFusion', 'MaxPoolFusion', 'Maximum',
  'MaximumGrad', 'Mfcc', 'Minimum', 'MinimumGrad', 'Mod', 'MulFusion', 'NLLLoss', 'NLLLossGrad', 'Neg', 'NegGrad',
  'NonMaxSuppression', 'NonZero', 'NotEqual', 'OneHot', 'OnesLike', 'PReLUFusion', 'PadFusion', 'PartialFusion',
  'PowFusion', 'PriorBox', 'QuantDTypeCast', 'ROIPooling', 'RaggedRange', 'RandomNormal', 'RandomStandardNormal',
  'Range', 'Rank', 'RealDiv', 'Reciprocal', 'ReduceFusion', 'ReduceScatter', 'Reshape', 'Resize', 'ReverseSequence',
  'ReverseV2', 'Round', 'Rsqrt', 'ScaleFusion', 'ScatterElements', 'ScatterNd', 'ScatterNdUpdate', 'Select', 'Shape',
  'Sin', 'Size', 'SkipGram', 'SliceFusion', 'Softmax', 'SpaceToBatch', 'SpaceToBatchND', 'SpaceToDepth',
  'SparseFillEmptyRows', 'SparseReshape', 'SparseSegmentSum', 'SparseSoftmaxCrossEntropyWithLogits', 'SparseToDense',
  'Splice', 'Split', 'SplitWithOverlap', 'Sqrt', 'Square', 'SquaredDifference', 'Squeeze', 'Stack', 'StridedSlice',
  'StridedSliceGrad', 'SubFusion', 'Switch', 'SwitchLayer', 'TensorArray', 'TensorArrayRead', 'TensorArrayWrite',
  'TensorListFromTensor', 'TensorListGetItem', 'TensorListReserve', 'TensorListSetItem', 'TensorListStack',
  'TensorScatterAdd', 'TileFusion', 'TopKFusion', 'Transpose', 'Tril', 'Triu', 'UniformReal', 'Unique',
  'UnsortedSegmentSum', 'Unsqueeze', 'Unstack', 'Where', 'ZerosLike',
]);
