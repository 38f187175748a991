/**
 * `--inputDataType` / `--outputDataType` for full-quantized models (MindSpore's DTypeTransPass): an INT8 graph
 * input or output is the int8 tensor itself, with its QuantParam, and the border QuantDTypeCast disappears;
 * UINT8 is the same tensor shifted by 128 (zero point + 128) through a uint8 <-> int8 QuantDTypeCast. An input
 * only float nodes read, or an output a float node computes (a final Softmax), gets a QuantDTypeCast of its own
 * with the parameters calibration found for it (FullQuantOptions.alsoCalibrate). FLOAT and DEFAULT keep the
 * float32 borders.
 */
import { Graph, Node, QuantParam, UserError } from '../ir/graph.js';
import { QuantType, TypeId } from '../ir/schema/ops.js';
import type { ActivationRange } from './calibrators.js';
import { activationParam } from './full-quant.js';

/** The parameters of graph inputs and outputs no int8 node touches, by tensor id (from their calibrated ranges). */
export type BorderParams = (id: number) => QuantParam | undefined;

export const IO_DATA_TYPES = ['FLOAT', 'INT8', 'UINT8', 'DEFAULT'] as const;
export type IoDataType = (typeof IO_DATA_TYPES)[number];

const isCast = (n: Node, src: number, dst: number) => n.op === 'QuantDTypeCast' && n.attrs.src_t === src && n.attrs.dst_t === dst;
const shifted = (p: QuantParam): QuantParam => ({ ...p, zeroPoint: p.zeroPoint + 128, dstDtype: TypeId.uint8 });
const castNode = (name: string, input: number, output: number, src: number, dst: number): Node =>
  ({ name, op: 'QuantDTypeCast', attrs: { src_t: src, dst_t: dst, axis: 0 }, inputs: [input], outputs: [output], quantType: QuantType.QUANT_NONE });

const integer = (t: IoDataType) => t === 'INT8' || t === 'UINT8';

/**
 * What full quantization needs for integer graph I/O: MaxPools run int8 too (so no QuantDTypeCast is left between
 * int8 borders), and graph inputs / outputs no int8 node touches (a final Softmax) are calibrated as well.
 */
export function integerIoOptions(g: Graph, input: IoDataType, output: IoDataType): { int8Pooling: boolean; alsoCalibrate: number[] } {
  return {
    int8Pooling: integer(input) || integer(output),
    alsoCalibrate: [...(integer(input) ? g.inputs : []), ...(integer(output) ? g.outputs : [])],
  };
}

/** setQuantizedIoTypes with the border parameters from a full quantization's calibrated ranges. */
export function applyIoTypes(g: Graph, input: IoDataType, output: IoDataType, ranges: Map<number, ActivationRange>, bits: number): void {
  setQuantizedIoTypes(g, input, output, (id) => {
    const r = ranges.get(id);
    return r && activationParam(r, bits);
  });
}

export function setQuantizedIoTypes(g: Graph, input: IoDataType, output: IoDataType, border: BorderParams = () => undefined): void {
  const removed = new Set<Node>();
  if (input === 'INT8' || input === 'UINT8') g.inputs.forEach((id) => integerInput(g, id, input, removed, border));
  if (output === 'INT8' || output === 'UINT8') g.outputs = g.outputs.map((id) => integerOutput(g, id, output, removed, border));
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  g.topoSort();
}

/** The graph input becomes the int8 (or uint8) tensor its float -> int8 cast produced. */
function integerInput(g: Graph, id: number, type: 'INT8' | 'UINT8', removed: Set<Node>, border: BorderParams): void {
  const t = g.tensors[id];
  const users = g.nodes.filter((n) => n.inputs.includes(id));
  const cast = users.find((n) => isCast(n, TypeId.float32, TypeId.int8));
  if (!cast) {
    const p = border(id);
    if (!p) throw new UserError(`--inputDataType=${type}: input ${t.name} is not read by an int8 node, so it has no quantization parameters`);
    // Only float nodes read it: it becomes integer, and their float comes from a cast (below).
    Object.assign(t, { dtype: type === 'INT8' ? 'int8' : 'uint8', quant: [type === 'INT8' ? { ...p } : shifted(p)] });
    for (const n of users) {
      const f = g.addTensor({ name: `${t.name}_float_${n.name}`, dtype: 'float32', shape: t.shape, format: t.format });
      g.nodes.push(castNode(`${type === 'INT8' ? 'int8' : 'uint8'}toft32_${n.name}_pre`, id, f, type === 'INT8' ? TypeId.int8 : TypeId.uint8, TypeId.float32));
      n.inputs = n.inputs.map((x) => (x === id ? f : x));
    }
    return;
  }
  const int8Id = cast.outputs[0];
  const param = g.tensors[int8Id].quant![0];
  if (type === 'INT8') {
    // The input takes the cast output's place in every reader; the cast goes.
    Object.assign(t, { dtype: 'int8', quant: [{ ...param }] });
    removed.add(cast);
    for (const n of g.nodes) n.inputs = n.inputs.map((x) => (x === int8Id ? id : x));
  } else {
    Object.assign(t, { dtype: 'uint8', quant: [shifted(param)] });
    Object.assign(cast, castNode(`uint8toint8_${cast.name}`, id, int8Id, TypeId.uint8, TypeId.int8));
  }
  // Float readers of the input get it back in float through a cast of their own.
  for (const n of users) {
    if (n === cast) continue;
    const f = g.addTensor({ name: `${t.name}_float_${n.name}`, dtype: 'float32', shape: t.shape, format: t.format });
    g.nodes.push(castNode(`${type === 'INT8' ? 'int8' : 'uint8'}toft32_${n.name}_pre`, id, f, type === 'INT8' ? TypeId.int8 : TypeId.uint8, TypeId.float32));
    n.inputs = n.inputs.map((x) => (x === id ? f : x));
  }
}

/** The graph output becomes the int8 tensor behind its int8 -> float cast (or that tensor shifted to uint8). */
function integerOutput(g: Graph, id: number, type: 'INT8' | 'UINT8', removed: Set<Node>, border: BorderParams): number {
  const name = g.tensors[id].name;
  const cast = g.nodes.find((n) => n.outputs[0] === id && isCast(n, TypeId.int8, TypeId.float32));
  if (!cast) {
    const p = border(id);
    if (!p) throw new UserError(`--outputDataType=${type}: output ${name} is computed by a float node and has no calibrated range`);
    // A float node computes it (a final Softmax): a float -> int8 cast (then int8 -> uint8) gives the output.
    const t = g.tensors[id];
    t.name = `${name}_float`;
    const q = g.addTensor({ name: type === 'INT8' ? name : `${name}_int8`, dtype: 'int8', shape: t.shape, format: t.format, quant: [{ ...p }] });
    g.nodes.push(castNode(`${name}_ft32toint8`, id, q, TypeId.float32, TypeId.int8));
    if (type === 'INT8') return q;
    const u = g.addTensor({ name, dtype: 'uint8', shape: t.shape, format: t.format, quant: [shifted(p)] });
    g.nodes.push(castNode(`${name}_int8touint8`, q, u, TypeId.int8, TypeId.uint8));
    return u;
  }
  const int8Id = cast.inputs[0];
  const floatReaders = g.nodes.some((n) => n.inputs.includes(id));
  if (floatReaders) g.tensors[id].name = `${name}_post_cast`;
  else removed.add(cast);
  if (type === 'INT8') {
    g.tensors[int8Id].name = name;
    return int8Id;
  }
  const param = g.tensors[int8Id].quant![0];
  const u = g.addTensor({ ...g.tensors[int8Id], name, dtype: 'uint8', quant: [shifted(param)] });
  g.nodes.push(castNode(`int8touint8_${cast.name}`, int8Id, u, TypeId.int8, TypeId.uint8));
  return u;
}
