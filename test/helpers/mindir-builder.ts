/**
 * Writes MindIR files shaped like MindSpore's exports, for tests: parameters as TensorProtos, primitive nodes
 * with attributes in the old (`ref_attr_name` + typed lists) or the newer (`type` + `values`) encoding,
 * function graphs called from the main graph.
 */
import { mindirTypes } from '../../src/ir/import/mindir.js';

type Attr = Record<string, unknown>;
export const oldAttr = {
  ints: (name: string, v: number[]): Attr => ({ name, ints: v, ref_attr_name: `scalar:Tuple[${v.map((_, k) => `value${k + 1},`).join('')}]` }),
  int: (name: string, v: number): Attr => ({ name, ints: [v], ref_attr_name: 'scalar:value1' }),
  str: (name: string, v: string): Attr => ({ name, strings: [new TextEncoder().encode(v)], ref_attr_name: 'scalar:value1' }),
};
export const newAttr = {
  ints: (name: string, v: number[]): Attr => ({ name, type: 20, values: v.map((x) => ({ type: 7, i: x })) }),
  int: (name: string, v: number): Attr => ({ name, type: 7, i: v }),
  bool: (name: string, v: boolean): Attr => ({ name, type: 9, i: v ? 1 : 0 }),
  str: (name: string, v: string): Attr => ({ name, type: 8, s: new TextEncoder().encode(v) }),
};

export interface MNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs?: Attr[];
}

export function tensorProto(name: string, dims: number[], data: Float32Array) {
  return { name, dims, data_type: 1, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function graphProto(g: { name: string; nodes: MNode[]; inputs: { name: string; dims: number[] }[]; outputs: string[]; params?: ReturnType<typeof tensorProto>[] }) {
  return {
    name: g.name,
    node: g.nodes.map((n) => ({ op_type: n.op, input: n.inputs, output: n.outputs, name: n.name, domain: n.name, attribute: n.attrs ?? [] })),
    parameter: g.params ?? [],
    input: g.inputs.map((i) => ({ name: i.name, tensor: [{ dims: i.dims, data_type: 1 }] })),
    output: g.outputs.map((o) => ({ name: o, tensor: [{ data_type: 1 }] })),
  };
}

export function buildMindIr(main: ReturnType<typeof graphProto>, functions: ReturnType<typeof graphProto>[] = []): Uint8Array {
  const M = mindirTypes().lookupType('mind_ir.ModelProto');
  return M.encode(M.create({ ir_version: '0.1.0', producer_name: 'MindSpore', model_version: '1.5.0', graph: main, functions })).finish();
}
