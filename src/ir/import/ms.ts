/**
 * MindSpore Lite .ms -> Graph. Reads files we write and real MindSpore files (1.2.0 and later schemas:
 * all schema changes since r1.2 are appended fields, so one reader serves them all).
 */
import * as fb from 'flatbuffers';
import { Table } from './fb-table.js';
import { Graph, Tensor, QuantParam, Node, UserError, DType, sizeOf, bytesPerElement, TensorData } from '../graph.js';
import type { Field } from '../schema/ops.js';
import { findOp } from '../op-registry.js';
import { PRIMITIVE_TYPES } from '../schema/primitive-types.js';
import { halfBytesToFloat32 } from '../numeric.js';
import { fseDecode } from '../fse.js';

/** weightQuantCompressType FSE: float centroids, decoded at load. */
const FSE_COMPRESS = 3;
import { META, SUBGRAPH, CNODE, TENSOR, QUANT, MS_IDENTIFIER, NodeType, dtypeOfTypeId } from '../schema/ms-common.js';

export function readMs(buf: Uint8Array, file = 'model'): Graph {
  if (buf.length < 8) throw new UserError(`${file}: not a MindSpore Lite .ms model (file is ${buf.length} bytes)`);
  const bb = new fb.ByteBuffer(buf);
  if (!bb.__has_identifier(MS_IDENTIFIER))
    throw new UserError(`${file}: not a MindSpore Lite .ms model (file identifier is not ${MS_IDENTIFIER})`);
  try {
    return decode(bb, file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: corrupt or truncated .ms model (${(e as Error).message})`);
  }
}

function decode(bb: fb.ByteBuffer, file: string): Graph {
  const root = bb.readInt32(0);
  if (root <= 0 || root >= bb.capacity()) throw new Error('root offset out of range');
  const meta = new Table(bb, root);
  const g = new Graph();
  g.name = meta.string(META.name) ?? '';
  g.version = meta.string(META.version) ?? '';
  g.fmkType = meta.int32(META.fmkType, 0);
  g.inputs = meta.ints(META.inputIndex) ?? [];
  g.outputs = meta.ints(META.outputIndex) ?? [];
  g.tensors = meta.tables(META.allTensors).map((t) => readTensor(t, file));
  const nodes = meta.tables(META.nodes).map((n) => readNode(n, file));
  const sub = meta.tables(META.subGraph)[0];
  if (sub) {
    g.subgraphName = sub.string(SUBGRAPH.name);
    const order = sub.ints(SUBGRAPH.nodeIndices);
    g.nodes = order ? order.map((i) => nodes[i]) : nodes;
  } else {
    g.nodes = nodes;
  }
  for (const i of [...g.inputs, ...g.outputs])
    if (i < 0 || i >= g.tensors.length) throw new Error(`graph input/output index ${i} out of range`);
  for (const n of g.nodes)
    for (const i of [...n.inputs, ...n.outputs])
      if (i < 0 || i >= g.tensors.length) throw new Error(`node ${n.name} refers to tensor ${i}, out of range`);
  return g;
}

function readTensor(t: Table, file: string): Tensor {
  const name = t.string(TENSOR.name) ?? '';
  const typeId = t.int32(TENSOR.dataType, 0);
  const dtype = dtypeOfTypeId(typeId);
  if (!dtype) throw new UserError(`${file}: tensor ${name} has unsupported dataType ${typeId}`);
  const shape = t.ints(TENSOR.dims) ?? [];
  const compress = t.int32(TENSOR.weightQuantCompressType, 0);
  const quant = t.tables(TENSOR.quantParams).map(readQuantParam);
  const tensor: Tensor = { name, dtype, shape, format: t.int32(TENSOR.format, 0) };
  if (quant.length) tensor.quant = quant;
  if (compress) tensor.compress = compress;
  const bytes = t.bytes(TENSOR.data);
  // A constant with no elements (an empty axes or roi list) has no data bytes but is still a constant.
  if (!bytes?.length && t.int32(TENSOR.nodeType, 0) === NodeType.ValueNode && shape.length && sizeOf(shape) === 0) tensor.data = typedArrayOf(dtype, new Uint8Array(0));
  if (bytes && bytes.length > 0) {
    const plain = !compress && bytes.length === sizeOf(shape) * bytesPerElement[dtype];
    const arr = plain ? typedArrayOf(dtype, bytes) : undefined;
    if (arr) tensor.data = arr;
    else tensor.raw = bytes;
    // A float16 constant (--fp16=on) keeps its bytes and gets the float32 values the runtime casts it to; an
    // FSE-coded float weight (mixed-bit) gets the values the runtime decodes.
    if (plain && dtype === 'float16') tensor.data = halfBytesToFloat32(bytes);
    if (compress === FSE_COMPRESS && dtype === 'float32') tensor.data = fseDecode(bytes, sizeOf(shape), 'float') as Float32Array;
  }
  return tensor;
}

function typedArrayOf(dtype: DType, bytes: Uint8Array): TensorData | undefined {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
    default: return undefined; // float16 and int64 stay raw bytes until a pass converts them
  }
}

function readQuantParam(q: Table): QuantParam {
  return {
    scale: q.float64(QUANT.scale, 1),
    zeroPoint: q.int32(QUANT.zeroPoint, 0),
    min: q.float64(QUANT.min, 0),
    max: q.float64(QUANT.max, 0),
    narrowRange: q.uint8(QUANT.narrowRange, 1) !== 0,
    numBits: q.int32(QUANT.numBits, 8),
    inited: q.uint8(QUANT.inited, 0) !== 0,
    varCorr: q.float32(QUANT.varCorr, 1),
    meanCorr: q.float32(QUANT.meanCorr, 0),
    dstDtype: q.int32(QUANT.dstDtype, 32),
    roundType: q.int32(QUANT.roundType, 1),
    multiplier: q.int32(QUANT.multiplier, 1),
  };
}

function readNode(n: Table, file: string): Node {
  const name = n.string(CNODE.name) ?? '';
  const prim = n.table(CNODE.primitive);
  if (!prim) throw new UserError(`${file}: node ${name} has no primitive`);
  const typeIndex = prim.uint8(0, 0);
  const op = PRIMITIVE_TYPES[typeIndex] ?? `PrimitiveType#${typeIndex}`;
  const table = prim.table(1);
  const fields = findOp(op)?.fields;
  const attrs = fields && table ? readOpTable(table, fields) : fields ? readOpTable(undefined, fields) : {};
  return {
    name, op, attrs,
    inputs: n.ints(CNODE.inputIndex) ?? [],
    outputs: n.ints(CNODE.outputIndex) ?? [],
    quantType: n.int32(CNODE.quantType, 0),
  };
}

function readOpTable(t: Table | undefined, fields: readonly Field[]): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  fields.forEach(([name, type, def], slot) => {
    if (!t) {
      if (def !== null) attrs[name] = def;
      return;
    }
    switch (type) {
      case 'bool': attrs[name] = t.uint8(slot, +(def as boolean)) !== 0; break;
      case 'byte': attrs[name] = t.int8(slot, def as number); break;
      case 'int': attrs[name] = t.int32(slot, def as number); break;
      case 'long': attrs[name] = t.int64(slot, def as number); break;
      case 'float': attrs[name] = t.float32(slot, def as number); break;
      case '[long]': { const v = t.longs(slot); if (v) attrs[name] = v; break; }
      case '[int]': { const v = t.ints(slot); if (v) attrs[name] = v; break; }
      case '[float]': { const v = t.floats(slot); if (v) attrs[name] = v; break; }
      case 'string': { const v = t.string(slot); if (v !== undefined) attrs[name] = v; break; }
      case 'Vec2D': {
        const outer = t.table(slot);
        if (outer) attrs[name] = outer.tables(0).map((row) => row.longs(0) ?? []);
        break;
      }
    }
  });
  return attrs;
}
