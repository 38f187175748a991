/** Facts shared by the .ms writer and reader (MODERN model.fbs slot numbers and enums). */
import type { DType } from '../graph.js';
import { TypeId } from './ops.js';

export const MS_IDENTIFIER = 'MSL2';

/** Slot numbers; flatbuffers vtable offset = 4 + 2 * slot. */
export const META = { name: 0, version: 1, fmkType: 2, inputIndex: 3, outputIndex: 4, mempoolSize: 5, nodes: 6, allTensors: 7, subGraph: 8 } as const;
export const SUBGRAPH = { name: 0, inputIndices: 1, outputIndices: 2, nodeIndices: 3, tensorIndices: 4 } as const;
export const CNODE = { name: 0, nodeType: 1, primitive: 2, inputIndex: 3, outputIndex: 4, quantType: 5, deviceType: 6 } as const;
export const TENSOR = {
  nodeType: 0, dataType: 1, dims: 2, format: 3, refCount: 4, offset: 5, data: 6, quantParams: 7, quantClusters: 8,
  name: 9, enableHuffmanCode: 10, weightQuantCompressType: 11, externalData: 12,
} as const;
export const QUANT = {
  scale: 0, zeroPoint: 1, min: 2, max: 3, narrowRange: 4, numBits: 5, inited: 6, varCorr: 7, meanCorr: 8,
  dstDtype: 9, roundType: 10, multiplier: 11,
} as const;

export const NodeType = { ValueNode: 0, Parameter: 1, CNode: 2 } as const;

export function typeIdOf(d: DType): number {
  return TypeId[d];
}

export function dtypeOfTypeId(id: number): DType | undefined {
  switch (id) {
    case 41: case 43: return 'float32';
    case 42: return 'float16';
    case 31: case 34: return 'int32';
    case 35: return 'int64';
    case 32: return 'int8';
    case 33: return 'int16';
    case 37: return 'uint8';
    case 30: return 'bool';
    default: return undefined;
  }
}
