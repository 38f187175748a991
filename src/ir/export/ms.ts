/**
 * Graph -> MindSpore Lite .ms (FlatBuffer, identifier MSL2). Scalars equal to their schema default are
 * omitted as MindSpore's converter does, except the QuantParam fields whose default changed between schema
 * versions (scale) or that old runtimes require (inited), which are always written.
 */
import * as fb from 'flatbuffers';
import { Graph, Tensor, QuantParam, Node } from '../graph.js';
import { PRIMITIVE_INDEX, Field } from '../schema/ops.js';
import { findOp } from '../op-registry.js';
import { runtimeFormats } from '../formats.js';
import { META, SUBGRAPH, CNODE, TENSOR, QUANT, MS_IDENTIFIER, NodeType, typeIdOf } from '../schema/ms-common.js';

export interface MsWriteOptions {
  /** Write every QuantParam field, even those equal to the schema default (full quantization does). */
  explicitQuantParams?: boolean;
}

export function writeMs(g: Graph, opts: MsWriteOptions = {}): Uint8Array {
  const b = new fb.Builder(1024);
  const uintVec = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
    return b.endVector();
  };
  const tableVec = (offs: number[]) => {
    b.startVector(4, offs.length, 4);
    for (let i = offs.length - 1; i >= 0; i--) b.addOffset(offs[i]);
    return b.endVector();
  };

  // Activation labels are what the runtime will infer for them; writing those keeps the file self-consistent
  // whatever pass (quantizer, border casts) added the tensor.
  const labels = runtimeFormats(g);
  const tensorOffs = g.tensors.map((t, i) => writeTensor(b, t, labels[i], uintVec, tableVec, opts));
  const nodeOffs = g.nodes.map((n) => writeNode(b, n, uintVec));

  const name = b.createString(g.name);
  const version = b.createString(g.version);
  const inputs = uintVec(g.inputs);
  const outputs = uintVec(g.outputs);
  const nodes = tableVec(nodeOffs);
  const tensors = tableVec(tensorOffs);

  const sgName = b.createString(g.subgraphName ?? `subgraph_0_${g.name}`);
  const sgIn = uintVec(g.inputs);
  const sgOut = uintVec(g.outputs);
  const sgNodes = uintVec(g.nodes.map((_, i) => i));
  const sgTensors = uintVec(g.tensors.map((_, i) => i));
  b.startObject(5);
  b.addFieldOffset(SUBGRAPH.name, sgName, 0);
  b.addFieldOffset(SUBGRAPH.inputIndices, sgIn, 0);
  b.addFieldOffset(SUBGRAPH.outputIndices, sgOut, 0);
  b.addFieldOffset(SUBGRAPH.nodeIndices, sgNodes, 0);
  b.addFieldOffset(SUBGRAPH.tensorIndices, sgTensors, 0);
  const subGraphs = tableVec([b.endObject()]);

  b.startObject(11);
  b.addFieldOffset(META.name, name, 0);
  b.addFieldOffset(META.version, version, 0);
  b.addFieldInt32(META.fmkType, g.fmkType, 0);
  b.addFieldOffset(META.inputIndex, inputs, 0);
  b.addFieldOffset(META.outputIndex, outputs, 0);
  b.addFieldOffset(META.nodes, nodes, 0);
  b.addFieldOffset(META.allTensors, tensors, 0);
  b.addFieldOffset(META.subGraph, subGraphs, 0);
  b.finish(b.endObject(), MS_IDENTIFIER);
  return b.asUint8Array().slice();
}

function tensorBytes(t: Tensor): Uint8Array | undefined {
  if (t.raw) return t.raw;
  if (!t.data) return undefined;
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function writeTensor(
  b: fb.Builder, t: Tensor, format: number, uintVec: (x: number[]) => number, tableVec: (x: number[]) => number,
  opts: MsWriteOptions,
): number {
  const isConst = t.data !== undefined || t.raw !== undefined;
  const dims = uintVec(t.shape);
  const bytes = tensorBytes(t);
  const data = bytes ? b.createByteVector(bytes) : 0;
  const quant = t.quant && t.quant.length ? tableVec(t.quant.map((q) => writeQuantParam(b, q, opts))) : 0;
  const name = b.createString(t.name);
  b.startObject(13);
  b.addFieldInt32(TENSOR.nodeType, isConst ? NodeType.ValueNode : NodeType.CNode, 0);
  b.addFieldInt32(TENSOR.dataType, typeIdOf(t.dtype), 0);
  b.addFieldOffset(TENSOR.dims, dims, 0);
  b.addFieldInt32(TENSOR.format, format, 0);
  if (data) b.addFieldOffset(TENSOR.data, data, 0);
  if (quant) b.addFieldOffset(TENSOR.quantParams, quant, 0);
  b.addFieldOffset(TENSOR.name, name, 0);
  b.addFieldInt32(TENSOR.weightQuantCompressType, t.compress ?? 0, 0);
  return b.endObject();
}

function writeQuantParam(b: fb.Builder, q: QuantParam, opts: MsWriteOptions): number {
  // `null` as the default forces the field to be written.
  const d = <T>(v: T) => (opts.explicitQuantParams ? null : v);
  b.startObject(12);
  b.addFieldFloat64(QUANT.scale, q.scale, null);
  b.addFieldInt32(QUANT.zeroPoint, q.zeroPoint, d(0));
  b.addFieldFloat64(QUANT.min, q.min ?? 0, d(0));
  b.addFieldFloat64(QUANT.max, q.max ?? 0, d(0));
  b.addFieldInt8(QUANT.narrowRange, +(q.narrowRange ?? true), d(1));
  b.addFieldInt32(QUANT.numBits, q.numBits ?? 8, d(8));
  b.addFieldInt8(QUANT.inited, +(q.inited ?? true), null);
  const varCorr = Math.fround(q.varCorr ?? 1);
  const meanCorr = Math.fround(q.meanCorr ?? 0);
  b.addFieldFloat32(QUANT.varCorr, varCorr, d(1));
  b.addFieldFloat32(QUANT.meanCorr, meanCorr, d(0));
  b.addFieldInt32(QUANT.dstDtype, q.dstDtype ?? 32, d(32));
  b.addFieldInt32(QUANT.roundType, q.roundType ?? 1, d(1));
  b.addFieldInt32(QUANT.multiplier, q.multiplier ?? 1, d(1));
  return b.endObject();
}

function writeNode(b: fb.Builder, n: Node, uintVec: (x: number[]) => number): number {
  const table = findOp(n.op)?.fields;
  const index = PRIMITIVE_INDEX[n.op];
  if (!table || index === undefined) throw new Error(`cannot write op ${n.op} (node ${n.name}) to .ms: no schema table`);
  const opTable = writeOpTable(b, table, n.attrs, n.name);
  b.startObject(1 + 1);
  b.addFieldInt8(0, index, 0);
  b.addFieldOffset(1, opTable, 0);
  const prim = b.endObject();
  const name = b.createString(n.name);
  const ins = uintVec(n.inputs);
  const outs = uintVec(n.outputs);
  b.startObject(7);
  b.addFieldOffset(CNODE.name, name, 0);
  b.addFieldOffset(CNODE.primitive, prim, 0);
  b.addFieldOffset(CNODE.inputIndex, ins, 0);
  b.addFieldOffset(CNODE.outputIndex, outs, 0);
  b.addFieldInt32(CNODE.quantType, n.quantType, 0);
  return b.endObject();
}

function writeOpTable(b: fb.Builder, fields: readonly Field[], attrs: Record<string, unknown>, node: string): number {
  // Vectors and strings must be created before the table starts.
  const offsets = fields.map(([name, type]) => {
    const v = attrs[name];
    if (v === undefined || v === null) return 0;
    switch (type) {
      case '[long]': {
        const xs = v as number[];
        b.startVector(8, xs.length, 8);
        for (let i = xs.length - 1; i >= 0; i--) b.addInt64(BigInt(xs[i]));
        return b.endVector();
      }
      case '[int]': {
        const xs = v as number[];
        b.startVector(4, xs.length, 4);
        for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
        return b.endVector();
      }
      case '[float]': {
        const xs = v as number[];
        b.startVector(4, xs.length, 4);
        for (let i = xs.length - 1; i >= 0; i--) b.addFloat32(xs[i]);
        return b.endVector();
      }
      case 'string':
        return b.createString(v as string);
      case 'Vec2D': {
        const rows = (v as number[][]).map((row) => {
          b.startVector(8, row.length, 8);
          for (let i = row.length - 1; i >= 0; i--) b.addInt64(BigInt(row[i]));
          const vec = b.endVector();
          b.startObject(1);
          b.addFieldOffset(0, vec, 0);
          return b.endObject();
        });
        b.startVector(4, rows.length, 4);
        for (let i = rows.length - 1; i >= 0; i--) b.addOffset(rows[i]);
        const list = b.endVector();
        b.startObject(1);
        b.addFieldOffset(0, list, 0);
        return b.endObject();
      }
      default:
        return 0;
    }
  });
  b.startObject(fields.length);
  fields.forEach(([name, type, def], slot) => {
    const v = attrs[name];
    if (v === undefined || v === null) return;
    switch (type) {
      case 'bool': b.addFieldInt8(slot, +(v as boolean), +(def as boolean)); break;
      case 'byte': b.addFieldInt8(slot, v as number, def as number); break;
      case 'int': b.addFieldInt32(slot, v as number, def as number); break;
      case 'long': b.addFieldInt64(slot, BigInt(v as number), BigInt(def as number)); break;
      case 'float': // compare as float32, so a value read back from a file is still recognised as the default
        if (Math.fround(v as number) !== Math.fround(def as number)) b.addFieldFloat32(slot, v as number, null);
        break;
      default:
        if (offsets[slot]) b.addFieldOffset(slot, offsets[slot], 0);
        else throw new Error(`node ${node}: attribute ${name} has no value`);
    }
  });
  return b.endObject();
}
