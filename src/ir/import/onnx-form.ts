/**
 * A graph written in ONNX's terms in memory (the shape of a decoded ModelProto), so the Caffe and TensorFlow
 * importers translate their layers into ONNX ops and share the ONNX importer's mapping to MindSpore Lite's ops,
 * layout handling and naming instead of a third copy of it.
 */
import { sizeOf } from '../graph.js';

export type AttrValue = number | readonly number[] | string;

/* eslint-disable @typescript-eslint/no-explicit-any */
export class OnnxForm {
  private nodes: any[] = [];
  private inits: any[] = [];
  private inputs: any[] = [];
  private outputs: string[] = [];
  private used = new Set<string>();

  /** A node; a number attribute is written as both INT and FLOAT, so either reader finds it. */
  node(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name = outputs[0]): void {
    const attribute = Object.entries(attrs).map(([k, v]) =>
      typeof v === 'string' ? { name: k, s: new TextEncoder().encode(v) }
        : typeof v === 'number' ? { name: k, i: Math.trunc(v), f: v }
          : { name: k, ints: v.map(Math.trunc), floats: [...v] });
    this.nodes.push({ name, op_type: op, input: inputs, output: outputs, attribute });
  }

  /** A node writing one fresh tensor `<base>_<suffix>`, whose name it returns. */
  step(op: string, inputs: string[], base: string, suffix: string, attrs: Record<string, AttrValue> = {}): string {
    const out = `${base}_${suffix}`;
    this.node(op, inputs, [out], attrs, out);
    return out;
  }

  floats(name: string, data: Float32Array, dims: readonly number[]): string {
    if (data.length !== sizeOf([...dims])) throw new RangeError(`${name}: ${data.length} values for dims [${dims}]`);
    this.inits.push({ name, dims: [...dims], data_type: 1, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  ints(name: string, data: readonly number[], dims: readonly number[] = [data.length]): string {
    this.inits.push({ name, dims: [...dims], data_type: 7, int64_data: [...data] });
    return name;
  }

  /** A unique constant name under `base`. */
  constName(base: string, what: string): string {
    return this.uniqueName(`${base}_${what}`);
  }

  /** `name`, or `name<k>` if it is taken already. */
  uniqueName(name: string): string {
    let unique = name;
    for (let k = 1; this.used.has(unique); k++) unique = `${name}${k}`;
    this.used.add(unique);
    return unique;
  }

  input(name: string, dims: readonly number[], elemType = 1): void {
    this.inputs.push({ name, type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (d < 0 ? { dim_param: '?' } : { dim_value: d })) } } } });
  }

  output(name: string): void {
    this.outputs.push(name);
  }

  model(name: string, opset = 13): any {
    return {
      opset_import: [{ domain: '', version: opset }],
      graph: { name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs.map((o) => ({ name: o })) },
    };
  }
}
