/**
 * Writes small real ONNX models (protobuf, same schema subset as the importer) so tests can build graphs
 * onnxruntime runs as an oracle: a .ms model's weights re-expressed in ONNX, or a two-input model.
 */
import protobuf from 'protobufjs';
import { ONNX_PROTO } from '../../src/ir/import/proto/onnx-proto.js';

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** A subgraph attribute (If's branches) is given as { graph: ... }. */
  attrs?: Record<string, number | number[] | string | readonly string[] | { graph: OnnxSubgraph }>;
}

/** A subgraph: nodes reading outer names, its own initializers, named outputs. */
export interface OnnxSubgraph {
  nodes: OnnxNode[];
  outputs: string[];
  inits?: OnnxInit[];
}

export interface OnnxInit {
  name: string;
  dims: number[];
  data: Float32Array | Int32Array | number[];
  int64?: boolean;
  bool?: boolean;
}

const isStringList = (v: unknown): v is readonly string[] => Array.isArray(v) && typeof v[0] === 'string';

export function buildOnnx(spec: {
  inputs: { name: string; dims: number[]; int64?: boolean }[];
  outputs: string[];
  nodes: OnnxNode[];
  inits: OnnxInit[];
  opset?: number;
}): Uint8Array {
  const valueInfo = (name: string, dims?: number[], int64 = false) => ({
    name,
    // A negative dim is written as a symbolic (dynamic) dimension.
    type: { tensor_type: { elem_type: int64 ? 7 : 1, shape: dims ? { dim: dims.map((d) => (d < 0 ? { dim_param: 'N' } : { dim_value: d })) } : undefined } },
  });
  // Whole numbers are INT attributes; write a float attribute like 1.0 as e.g. 1.0000001 or use a non-integer.
  const attr = (name: string, v: NonNullable<OnnxNode['attrs']>[string], prefix: string): object =>
    typeof v === 'string' ? { name, type: 3, s: new TextEncoder().encode(v) }
      : isStringList(v) ? { name, type: 8, strings: v.map((x) => new TextEncoder().encode(x)) }
      : Array.isArray(v) ? { name, type: 7, ints: v }
        : typeof v === 'object' && 'graph' in v ? { name, type: 5, g: { name: `${prefix}${name}`, ...body(v.graph.nodes, v.graph.inits ?? [], `${prefix}${name}_`), output: v.graph.outputs.map((o: string) => valueInfo(o)) } }
          : Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
  const body = (nodes: OnnxNode[], inits: OnnxInit[], prefix = ''): { node: object[]; initializer: object[] } => ({
    node: nodes.map((n, i) => ({
      name: `${prefix}${n.op}_${i}`, op_type: n.op, input: n.inputs, output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v, `${prefix}${n.op}_${i}_`)),
    })),
    initializer: inits.map((t) => ({
      name: t.name, dims: t.dims, data_type: t.int64 ? 7 : t.bool ? 9 : 1,
      ...(t.int64 ? { int64_data: Array.from(t.data) } : t.bool ? { int32_data: Array.from(t.data) } : { float_data: Array.from(t.data) }),
    })),
  });
  const msg = ModelProto.create({
    ir_version: 7,
    opset_import: [{ domain: '', version: spec.opset ?? 13 }],
    producer_name: 'webptq-tests',
    graph: {
      name: 'test_graph',
      ...body(spec.nodes, spec.inits),
      input: spec.inputs.map((i) => valueInfo(i.name, i.dims, i.int64)),
      output: spec.outputs.map((o) => valueInfo(o)),
    },
  });
  return ModelProto.encode(msg).finish();
}
