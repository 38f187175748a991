/**
 * The one graph IR. Importers translate into it, the .ms writer and reader translate out of and back
 * into it, executors run it. After the import passes, ops and attributes use MindSpore Lite's own
 * vocabulary (schema table names and field names), so every later stage implements an op once.
 */

export type DType = 'float32' | 'float16' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'bool';

export type TensorData = Float32Array | Int32Array | Int8Array | Uint8Array | Int16Array;

/** MindSpore Lite QuantParam; optional fields take the MODERN schema default when absent. */
export interface QuantParam {
  scale: number;
  zeroPoint: number;
  min?: number;
  max?: number;
  narrowRange?: boolean;
  numBits?: number;
  inited?: boolean;
  varCorr?: number;
  meanCorr?: number;
  dstDtype?: number;
  roundType?: number;
  multiplier?: number;
}

export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** Present for constants (weights, shapes, perms). Packed/compressed weights keep their raw bytes in `raw`. */
  data?: TensorData;
  /** Bytes exactly as stored in a .ms file when they are not a plain array (bit-packed, indexed, sparse). */
  raw?: Uint8Array;
  /** MindSpore Format enum (0 NCHW, 1 NHWC, ...). */
  format: number;
  quant?: QuantParam[];
  /** WeightQuantCompressType (0 NONE, 1 INDEXING, 2 SPARSE, 4 BITPACKING). */
  compress?: number;
}

export interface Node {
  name: string;
  op: string;
  attrs: Record<string, unknown>;
  inputs: number[];
  outputs: number[];
  /** MindSpore QuantType: 0 NONE, 4 QUANT_WEIGHT, 5 QUANT_ALL. */
  quantType: number;
}

export const FmkType = { TF: 0, CAFFE: 1, ONNX: 2, MINDIR: 3, TFLITE: 4, PYTORCH: 5, MSLITE: 6, OM: 7 } as const;
export const Format = { NCHW: 0, NHWC: 1, KHWC: 7 } as const;

export class Graph {
  name = '';
  fmkType: number = FmkType.ONNX;
  version = 'MindSpore Lite 2.7.0';
  subgraphName?: string;
  tensors: Tensor[] = [];
  nodes: Node[] = [];
  inputs: number[] = [];
  outputs: number[] = [];

  addTensor(t: Partial<Tensor> & { name: string }): number {
    this.tensors.push({ dtype: 'float32', shape: [], format: 0, ...t });
    return this.tensors.length - 1;
  }

  addConst(name: string, data: TensorData, shape: number[], format = 0): number {
    return this.addTensor({ name, data, shape, dtype: dtypeOfArray(data), format });
  }

  addNode(n: Omit<Node, 'quantType' | 'attrs'> & { attrs?: Record<string, unknown>; quantType?: number }): Node {
    const node: Node = { attrs: {}, quantType: 0, ...n };
    this.nodes.push(node);
    return node;
  }

  isConst(id: number): boolean {
    const t = this.tensors[id];
    return t.data !== undefined || t.raw !== undefined;
  }

  /** Map tensor id -> producing node. */
  producers(): Map<number, Node> {
    const m = new Map<number, Node>();
    for (const n of this.nodes) for (const o of n.outputs) m.set(o, n);
    return m;
  }

  /** Map tensor id -> consuming nodes (graph outputs are not nodes; check `outputs` separately). */
  consumers(): Map<number, Node[]> {
    const m = new Map<number, Node[]>();
    for (const n of this.nodes)
      for (const i of n.inputs) {
        if (i < 0) continue;
        const list = m.get(i);
        if (list) list.push(n);
        else m.set(i, [n]);
      }
    return m;
  }

  /** Nodes ordered so that every producer precedes its consumers (stable for already-sorted graphs). */
  topoSort(): void {
    const prod = this.producers();
    const done = new Set<Node>();
    const order: Node[] = [];
    const visiting = new Set<Node>();
    const visit = (n: Node) => {
      if (done.has(n)) return;
      if (visiting.has(n)) throw new Error(`graph has a cycle at node ${n.name}`);
      visiting.add(n);
      for (const i of n.inputs) {
        const p = i >= 0 ? prod.get(i) : undefined;
        if (p) visit(p);
      }
      visiting.delete(n);
      done.add(n);
      order.push(n);
    };
    for (const n of this.nodes) visit(n);
    this.nodes = order;
  }

  /** Drops tensors no node, input or output refers to, renumbering ids. */
  compact(): void {
    const used = new Set<number>([...this.inputs, ...this.outputs]);
    for (const n of this.nodes) for (const i of [...n.inputs, ...n.outputs]) if (i >= 0) used.add(i);
    const remap = new Map<number, number>();
    const kept: Tensor[] = [];
    this.tensors.forEach((t, i) => {
      if (used.has(i)) {
        remap.set(i, kept.length);
        kept.push(t);
      }
    });
    const r = (i: number) => (i < 0 ? i : remap.get(i)!);
    for (const n of this.nodes) {
      n.inputs = n.inputs.map(r);
      n.outputs = n.outputs.map(r);
    }
    this.inputs = this.inputs.map(r);
    this.outputs = this.outputs.map(r);
    this.tensors = kept;
  }

  /** Removes nodes whose outputs nobody uses. */
  removeDeadNodes(): void {
    let changed = true;
    while (changed) {
      changed = false;
      const cons = this.consumers();
      const outs = new Set(this.outputs);
      const before = this.nodes.length;
      this.nodes = this.nodes.filter((n) => n.outputs.some((o) => outs.has(o) || (cons.get(o)?.length ?? 0) > 0));
      changed = this.nodes.length !== before;
    }
  }

  /** A copy that can be changed without touching this graph (constant data is shared, it is never written). */
  clone(): Graph {
    const c = Object.assign(new Graph(), this);
    c.tensors = this.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
    c.nodes = this.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } }));
    c.inputs = [...this.inputs];
    c.outputs = [...this.outputs];
    return c;
  }

  /** Replaces every use of tensor `from` with tensor `to` (node inputs and graph outputs). */
  replaceUses(from: number, to: number): void {
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
    this.outputs = this.outputs.map((i) => (i === from ? to : i));
  }
}

export function dtypeOfArray(a: TensorData): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  return 'uint8';
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export const bytesPerElement: Record<DType, number> = {
  float32: 4, float16: 2, int8: 1, uint8: 1, int16: 2, int32: 4, int64: 8, bool: 1,
};

/** One clear user-facing error: the CLI prints its message alone, without a stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
