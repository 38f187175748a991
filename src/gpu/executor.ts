/**
 * The GPU executor: runs a Graph in MindSpore Lite form with WGSL kernels on fixed-size batches. Weights are
 * uploaded once; activation buffers are assigned by liveness and reused; pipelines are cached by source; the
 * whole dispatch list and its bind groups are built once and replayed for every batch.
 */
import '../ops/index.js';
import type { Graph, Node, Tensor } from '../ir/graph.js';
import { UserError, sizeOf } from '../ir/graph.js';
import { batchShapes, batchedGraph } from '../ir/passes/shapes.js';
import type { RT } from '../ir/tensor.js';
import { dequantizeWeight, isQuantizedWeight, runsDequantized } from '../quant/dequant.js';
import type { GpuContext } from './device.js';
import { lowerNode, Step } from './lowering.js';
import { STORAGE_USAGE, pipelineFor, readBuffer } from './resources.js';

/** Something that adds its own dispatches after a tensor is produced (statistics). */
export type TensorHook = (pass: GPUComputePassEncoder, tensorId: number, buffer: GPUBuffer, shape: number[]) => void;

export interface ExecutorOptions {
  /** false keeps every activation in its own buffer so all can be read back (tests). */
  reuseBuffers?: boolean;
}

interface Compiled {
  step: Step;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
}

export class GpuExecutor {
  readonly shapes = new Map<number, number[]>();
  private buffers = new Map<number, GPUBuffer>();
  private owned: GPUBuffer[] = [];
  private compiled: { node: Node; steps: Compiled[] }[] = [];
  /** Bytes of activation buffers (after liveness reuse) and of constants. */
  activationBytes = 0;
  constantBytes = 0;

  private constructor(readonly ctx: GpuContext, readonly g: Graph, readonly batch: number) {}

  /**
   * An executor for up to `batch` samples per pass (see batchedGraph); a graph that does not scale with the
   * batch runs one sample per pass.
   */
  static async create(ctx: GpuContext, g: Graph, batch: number, opts: ExecutorOptions = {}): Promise<GpuExecutor> {
    const view = batch > 1 ? batchedGraph(g, batch) : undefined;
    const ex = new GpuExecutor(ctx, view?.graph ?? g, view ? batch : 1);
    for (const [id, s] of view?.shapes ?? batchShapes(g, 1)!) ex.shapes.set(id, s);
    await ex.build(opts.reuseBuffers ?? true);
    return ex;
  }

  /** Bytes of all device buffers this executor holds. */
  get deviceBytes(): number {
    return this.activationBytes + this.constantBytes;
  }

  private shapeOf = (id: number): number[] => this.shapes.get(id) ?? this.g.tensors[id].shape;

  private newBuffer(bytes: number): GPUBuffer {
    const b = this.ctx.device.createBuffer({ size: Math.max(4, Math.ceil(bytes / 4) * 4), usage: STORAGE_USAGE });
    this.owned.push(b);
    return b;
  }

  private constBuffer(t: Tensor, node: Node, slot: number): GPUBuffer {
    const id = node.inputs[slot];
    let buf = this.buffers.get(id);
    if (buf) return buf;
    let data: Float32Array;
    if (runsDequantized(node) && isQuantizedWeight(t)) data = dequantizeWeight(this.g, node, slot);
    else if (t.data instanceof Float32Array) data = t.data;
    else if (t.data) data = Float32Array.from(t.data as ArrayLike<number>);
    else throw new UserError(`tensor ${t.name}: constant without float data cannot go to the GPU`);
    buf = this.newBuffer(data.byteLength);
    this.ctx.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    this.constantBytes += data.byteLength;
    this.buffers.set(id, buf);
    return buf;
  }

  private async build(reuse: boolean): Promise<void> {
    const { g } = this;
    const lowered = g.nodes.map((n) => ({ node: n, low: lowerNode(g, n, this.shapeOf) }));
    // Storage per tensor: aliases share their source's storage; last use decides when it can be reused.
    const root = new Map<number, number>();
    const rootOf = (id: number): number => root.get(id) ?? id;
    lowered.forEach(({ node, low }) => {
      if ('alias' in low) root.set(node.outputs[0], rootOf(low.alias));
    });
    const lastUse = new Map<number, number>();
    lowered.forEach(({ node }, i) => node.inputs.forEach((id) => id >= 0 && lastUse.set(rootOf(id), i)));
    for (const id of g.outputs) lastUse.set(rootOf(id), Infinity);
    const free = new Map<number, GPUBuffer[]>();
    const take = (bytes: number): GPUBuffer => {
      const size = Math.max(4, Math.ceil(bytes / 4) * 4);
      const list = free.get(size);
      if (list?.length) return list.pop()!;
      this.activationBytes += size;
      return this.newBuffer(size);
    };
    for (const id of g.inputs) this.buffers.set(id, take(4 * sizeOf(this.shapeOf(id))));

    for (const [i, { node, low }] of lowered.entries()) {
      if ('alias' in low) {
        this.buffers.set(node.outputs[0], this.buffers.get(rootOf(low.alias)) ?? this.constBuffer(g.tensors[low.alias], node, 0));
        this.compiled.push({ node, steps: [] }); // no kernel, but hooks still see its output
      } else {
        for (const o of node.outputs) if (!this.buffers.has(o)) this.buffers.set(o, take(4 * sizeOf(this.shapeOf(o))));
        const steps: Compiled[] = [];
        for (const step of low.steps) {
          const inputs = step.inputs.map((id) => {
            if (this.buffers.has(id) && !g.isConst(id)) return this.buffers.get(id)!;
            return this.constBuffer(g.tensors[id], node, node.inputs.indexOf(id));
          });
          const pipeline = await pipelineFor(this.ctx.device, step.kernel.code, step.label).catch((e: Error) => {
            throw new Error(`WGSL for ${node.op} ${node.name} failed to compile: ${e.message}\n${step.kernel.code}`);
          });
          const entries = [...inputs, this.buffers.get(step.output)!].map((buffer, binding) => ({ binding, resource: { buffer } }));
          steps.push({ step, pipeline, bindGroup: this.ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }) });
        }
        this.compiled.push({ node, steps });
      }
      // Activations whose last reader was this node go back to the pool.
      if (reuse) for (const id of new Set(node.inputs.map(rootOf))) {
        if (lastUse.get(id) !== i || g.isConst(id)) continue;
        const b = this.buffers.get(id)!;
        const list = free.get(b.size) ?? [];
        list.push(b);
        free.set(b.size, list);
      }
    }
  }

  /** Encodes one forward pass over the data already in the input buffers; `hook` adds dispatches per tensor. */
  encode(pass: GPUComputePassEncoder, hook?: TensorHook): void {
    for (const { node, steps } of this.compiled) {
      for (const c of steps) {
        pass.setPipeline(c.pipeline);
        pass.setBindGroup(0, c.bindGroup);
        pass.dispatchWorkgroups(...c.step.kernel.dispatch);
      }
      if (hook) for (const o of node.outputs) hook(pass, o, this.buffers.get(o)!, this.shapeOf(o));
    }
  }

  /** Uploads a batch (graph-input order, each `batch` samples long, zero-padded if shorter). */
  writeInputs(inputs: Float32Array[]): void {
    this.g.inputs.forEach((id, k) => {
      const need = sizeOf(this.shapeOf(id));
      const x = inputs[k];
      if (x.length > need) throw new UserError(`input ${this.g.tensors[id].name}: ${x.length} values for a batch of ${need}`);
      const data = x.length === need ? x : (() => { const p = new Float32Array(need); p.set(x); return p; })();
      this.ctx.device.queue.writeBuffer(this.buffers.get(id)!, 0, data.buffer, data.byteOffset, data.byteLength);
    });
  }

  run(inputs: Float32Array[], hook?: TensorHook): void {
    this.writeInputs(inputs);
    const enc = this.ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    this.encode(pass, hook);
    pass.end();
    this.ctx.device.queue.submit([enc.finish()]);
  }

  bufferOf(id: number): GPUBuffer {
    return this.buffers.get(id)!;
  }

  async read(id: number): Promise<RT> {
    const shape = this.shapeOf(id);
    const data = await readBuffer(this.ctx.device, this.buffers.get(id)!, 4 * sizeOf(shape));
    return { shape, data: new Float32Array(data) };
  }

  async outputs(): Promise<RT[]> {
    return Promise.all(this.g.outputs.map((id) => this.read(id)));
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned = [];
  }
}
