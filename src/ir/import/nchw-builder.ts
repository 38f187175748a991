/**
 * What the importers of NCHW frameworks (ONNX, MindIR) share: graph inputs made NHWC as MindSpore does,
 * layout-sensitive ops emitted in NHWC between transposes (`<node>_pre_<i>`, `<node>_post`) that the
 * transpose pass later cancels, conv weights moved to KHWC, protobuf tensors decoded to constants.
 */
import { Graph, Format, UserError, TensorData, DType, sizeOf } from '../graph.js';
import { toNumber } from '../numeric.js';
import { halfBytesToFloat32, int64BytesToInt32, clampInt32, alignedCopy } from '../numeric.js';
import { permuteConst, NCHW_TO_NHWC, NHWC_TO_NCHW, addTranspose } from '../layout.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const num = toNumber;

export abstract class NchwGraphBuilder {
  g = new Graph();
  /** Source tensor name -> tensor id. */
  ids = new Map<string, number>();
  nodeName = '';

  constructor(readonly file: string) {}

  /** The op type of the node being converted, for messages. */
  abstract get opLabel(): string;

  fail(msg: string): never {
    throw new UserError(`${this.file}: node ${this.nodeName} (${this.opLabel}): ${msg}`);
  }

  /** A graph input; 4-D ones become NHWC with an `<input>_nh2nc` transpose unless kept NCHW. */
  addInput(name: string, shape: number[], dtype: DType, keepNCHW: boolean): void {
    if (shape.length === 4 && !keepNCHW) {
      const id = this.g.addTensor({ name, shape: NCHW_TO_NHWC.map((p) => shape[p]), dtype, format: Format.NHWC });
      this.g.inputs.push(id);
      this.ids.set(name, addTranspose(this.g, id, NHWC_TO_NCHW, `${name}_nh2nc`));
    } else {
      const id = this.g.addTensor({ name, shape, dtype, format: shape.length === 4 ? Format.NCHW : 0 });
      this.g.inputs.push(id);
      this.ids.set(name, id);
    }
  }

  /** A protobuf TensorProto (ONNX and MindIR decode to the same field names) as a constant. */
  constFromProto(name: string, t: any, raw: Uint8Array | undefined = t.raw_data?.length ? t.raw_data : undefined): number {
    const dims: number[] = (t.dims ?? []).map(num);
    const n = sizeOf(dims);
    let data: TensorData;
    switch (t.data_type) {
      case 1: data = raw ? new Float32Array(alignedCopy(raw)) : Float32Array.from(t.float_data ?? []); break;
      case 10: data = raw ? halfBytesToFloat32(raw) : Float32Array.from((t.int32_data ?? []) as number[], (h) => halfBytesToFloat32(new Uint8Array(new Uint16Array([h]).buffer))[0]); break;
      case 11: case 17: data = raw ? Float32Array.from(new Float64Array(alignedCopy(raw))) : Float32Array.from(t.double_data ?? []); break;
      case 7: data = raw ? int64BytesToInt32(raw) : Int32Array.from((t.int64_data ?? []).map((v: unknown) => clampInt32(num(v)))); break;
      case 6: data = raw ? new Int32Array(alignedCopy(raw)) : Int32Array.from(t.int32_data ?? []); break;
      case 3: data = raw ? new Int8Array(alignedCopy(raw)) : Int8Array.from(t.int32_data ?? []); break;
      case 2: case 9: data = raw ? new Uint8Array(alignedCopy(raw)) : Uint8Array.from(t.int32_data ?? []); break;
      default:
        throw new UserError(`${this.file}: constant ${name} has unsupported data type ${t.data_type}`);
    }
    if (data.length !== n) throw new UserError(`${this.file}: constant ${name} has ${data.length} values for dims [${dims}]`);
    return this.g.addConst(name, data, dims);
  }

  intConst(suffix: string, values: number[], shape = [values.length]): number {
    return this.g.addConst(`${this.nodeName}_${suffix}`, Int32Array.from(values, clampInt32), shape);
  }

  newTensor(sourceName: string): number {
    const id = this.g.addTensor({ name: sourceName });
    this.ids.set(sourceName, id);
    return id;
  }

  /** A node in NCHW semantics writing the named source tensors. */
  emitNamed(op: string, attrs: Record<string, unknown>, inputs: number[], outNames: string[]): number[] {
    const outs = outNames.map((o) => this.newTensor(o));
    this.g.addNode({ name: this.nodeName, op, attrs, inputs, outputs: outs });
    return outs;
  }

  /**
   * One step of a decomposition (an ONNX op written as several MindSpore ops): a node named
   * `<node>_<suffix>` writing a fresh tensor, whose id it returns.
   */
  step(op: string, attrs: Record<string, unknown>, inputs: number[], suffix: string): number {
    const name = `${this.nodeName}_${suffix}`;
    const out = this.g.addTensor({ name });
    this.g.addNode({ name, op, attrs, inputs, outputs: [out] });
    return out;
  }

  /** A float scalar constant `<node>_<suffix>`. */
  scalar(suffix: string, value: number): number {
    return this.g.addConst(`${this.nodeName}_${suffix}`, Float32Array.of(value), []);
  }

  /** A layout-sensitive node: NCHW->NHWC before the data inputs, NHWC->NCHW after; returns the NCHW output. */
  emitChannelsLast(op: string, attrs: Record<string, unknown>, inputs: number[], dataInputs = [0]): number {
    const ins = inputs.map((id, i) => (dataInputs.includes(i) ? addTranspose(this.g, id, NCHW_TO_NHWC, `${this.nodeName}_pre_${i}`) : id));
    const tmp = this.g.addTensor({ name: this.nodeName, format: Format.NHWC });
    this.g.addNode({ name: this.nodeName, op, attrs: { ...attrs }, inputs: ins, outputs: [tmp] });
    return addTranspose(this.g, tmp, NHWC_TO_NCHW, `${this.nodeName}_post`);
  }

  /** A KCHW conv weight (ConvTranspose: [Cin, Cout/g, KH, KW]) moved to channels-last; it keeps its name. */
  weightToKHWC(wId: number): number {
    const w = this.g.tensors[wId];
    if (!w.data || w.shape.length !== 4) this.fail('the weight must be a constant 4-D tensor (2-D convolution)');
    const p = permuteConst(w.data as Float32Array, w.shape, NCHW_TO_NHWC);
    return this.g.addConst(w.name, p.data, p.shape, Format.NHWC);
  }
}
