/**
 * The GPU executor: runs a Graph in MindSpore Lite form with WGSL kernels on fixed-size batches. Weights are
 * uploaded once; activation buffers are assigned by liveness and reused; pipelines are cached by source; the
 * whole dispatch list and its bind groups are built once and replayed for every batch. Ops without a WGSL
 * kernel run on the host: the pass is submitted, their inputs read back, the CPU kernel run and its outputs
 * uploaded, then the next GPU segment starts.
 */
import '../ops/index.js';
import type { Graph, Node, Tensor } from '../ir/graph.js';
import { UserError, sizeOf } from '../ir/graph.js';
import { batchShapes, batchedGraph, hasDynamicInputs } from '../ir/passes/shapes.js';
import { specialize } from '../ir/passes/index.js';
import type { RT } from '../ir/tensor.js';
import { dequantizeWeight, isQuantizedWeight, runsDequantized } from '../quant/dequant.js';
import { constValue, runNode } from '../cpu/executor.js';
import type { GpuContext } from './device.js';
import { lowerNode, Step } from './lowering.js';
import { STORAGE_USAGE, BufferUsage, pipelineFor, readBuffer } from './resources.js';

/** Something that adds its own dispatches after a tensor is produced (statistics). */
export type TensorHook = (pass: GPUComputePassEncoder, tensorId: number, buffer: GPUBuffer, shape: number[]) => void;

export interface ExecutorOptions {
  /** false keeps every activation in its own buffer so all can be read back (tests). */
  reuseBuffers?: boolean;
  /** One sample's shape per graph input: required when the model has symbolic dims (the executor specializes). */
  inputShapes?: number[][];
}

interface Compiled {
  step: Step;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
}

interface CompiledNode {
  node: Node;
  steps: Compiled[];
  /** Runs on the CPU between GPU segments. */
  host?: boolean;
}

export class GpuExecutor {
  readonly shapes = new Map<number, number[]>();
  private buffers = new Map<number, GPUBuffer>();
  private owned: GPUBuffer[] = [];
  private compiled: CompiledNode[] = [];
  /** Bytes of activation buffers (after liveness reuse) and of constants. */
  activationBytes = 0;
  constantBytes = 0;

  /** Host-op outputs whose size depended on input values, by tensor id (see runOnHost). */
  private hostValues = new Map<number, RT>();

  private constructor(readonly ctx: GpuContext, readonly g: Graph, readonly batch: number) {}

  /**
   * An executor for up to `batch` samples per pass (see batchedGraph); a graph that does not scale with the
   * batch runs one sample per pass.
   */
  static async create(ctx: GpuContext, model: Graph, batch: number, opts: ExecutorOptions = {}): Promise<GpuExecutor> {
    // Kernels are specialized to shapes: a model with symbolic dims is fixed at the given sample shapes first.
    if (hasDynamicInputs(model) && !opts.inputShapes)
      throw new UserError(`the model has symbolic input dims [${model.inputs.map((id) => model.tensors[id].shape).join('], [')}]: the GPU executor needs the input shapes`);
    const g = opts.inputShapes ? specialize(model, opts.inputShapes, runNode) : model;
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
    // The adapter's limit on one storage binding, checked before asking (an over-size request is a device
    // error that would only surface later, without a name).
    const limit = this.ctx.device.limits.maxStorageBufferBindingSize;
    if (bytes > limit) throw new UserError(`a tensor of ${(bytes / 1e6).toFixed(0)} MB does not fit one GPU buffer (this adapter allows ${(limit / 1e6).toFixed(0)} MB); run it on the CPU`);
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
    // A WGSL kernel is built for fixed shapes: one whose shape waits on input values (a Resize to a run-time
    // size) cannot run here, where a host op can (its output stays on the host, see runOnHost).
    for (const { node, low } of lowered) {
      if ('alias' in low || 'host' in low) continue;
      const unknown = [...node.inputs, ...node.outputs].find((id) => id >= 0 && !g.isConst(id) && this.shapeOf(id).some((d) => d < 0));
      if (unknown !== undefined)
        throw new UserError(`node ${node.name} (${node.op}): tensor ${g.tensors[unknown].name} has a shape [${this.shapeOf(unknown)}] that depends on input values; the GPU executor builds kernels for fixed shapes: run this model on the CPU executor`);
    }
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
      } else if ('host' in low) {
        for (const o of node.outputs) if (!this.buffers.has(o)) this.buffers.set(o, take(4 * sizeOf(this.shapeOf(o))));
        this.compiled.push({ node, steps: [], host: true });
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

  /**
   * One forward pass over the data already in the input buffers. `hook` adds dispatches after every tensor is
   * produced, the graph inputs first. Returns once the last segment is submitted (not finished).
   */
  async forward(hook?: TensorHook): Promise<void> {
    const { device } = this.ctx;
    let enc = device.createCommandEncoder();
    let pass = enc.beginComputePass();
    const emit = (id: number) => hook?.(pass, id, this.buffers.get(id)!, this.shapeOf(id));
    this.g.inputs.forEach(emit);
    for (const { node, steps, host } of this.compiled) {
      if (host) {
        pass.end();
        device.queue.submit([enc.finish()]);
        await this.runOnHost(node);
        enc = device.createCommandEncoder();
        pass = enc.beginComputePass();
      }
      this.encodeNode(pass, steps);
      node.outputs.forEach(emit);
    }
    pass.end();
    device.queue.submit([enc.finish()]);
  }

  /**
   * Milliseconds per op kind of one forward pass, for `bench:gpu`'s time shares. With timestamp queries (asked
   * for when the adapter has them) each node's dispatches form one compute pass whose start and end the device
   * stamps; otherwise each node is submitted alone and waited for. Nodes run on the host are timed on the host.
   */
  async profile(prefer: 'timestamps' | 'node by node' = 'timestamps'): Promise<{ ms: Map<string, number>; method: 'timestamps' | 'node by node' }> {
    const timestamps = prefer === 'timestamps' && this.ctx.device.features.has('timestamp-query');
    return { ms: await (timestamps ? this.profileByTimestamps() : this.profileNodeByNode()), method: timestamps ? 'timestamps' : 'node by node' };
  }

  private encodeNode(pass: GPUComputePassEncoder, steps: Compiled[]): void {
    for (const c of steps) {
      pass.setPipeline(c.pipeline);
      pass.setBindGroup(0, c.bindGroup);
      pass.dispatchWorkgroups(...c.step.kernel.dispatch);
    }
  }

  private async profileNodeByNode(): Promise<Map<string, number>> {
    const { device } = this.ctx;
    const ms = new Map<string, number>();
    for (const { node, steps, host } of this.compiled) {
      if (!host && !steps.length) continue; // an alias: no work
      const t0 = performance.now();
      if (host) await this.runOnHost(node);
      else {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        this.encodeNode(pass, steps);
        pass.end();
        device.queue.submit([enc.finish()]);
      }
      await device.queue.onSubmittedWorkDone();
      ms.set(node.op, (ms.get(node.op) ?? 0) + performance.now() - t0);
    }
    return ms;
  }

  private async profileByTimestamps(): Promise<Map<string, number>> {
    const { device } = this.ctx;
    const ms = new Map<string, number>();
    const add = (op: string, t: number) => ms.set(op, (ms.get(op) ?? 0) + t);
    const PER_SET = 1024; // nodes per query set: two stamps each, a set holds at most 4096
    let enc: GPUCommandEncoder | undefined, querySet: GPUQuerySet | undefined;
    let stamped: string[] = [];
    const flush = async () => {
      if (!enc || !querySet) return;
      const bytes = stamped.length * 16, resolved = device.createBuffer({ size: bytes, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
      enc.resolveQuerySet(querySet, 0, stamped.length * 2, resolved, 0);
      device.queue.submit([enc.finish()]);
      const ns = new BigInt64Array(await readBuffer(device, resolved, bytes));
      stamped.forEach((op, i) => add(op, Number(ns[2 * i + 1] - ns[2 * i]) / 1e6));
      resolved.destroy();
      querySet.destroy();
      [enc, querySet, stamped] = [undefined, undefined, []];
    };
    for (const { node, steps, host } of this.compiled) {
      if (host) {
        await flush();
        const t0 = performance.now();
        await this.runOnHost(node);
        add(node.op, performance.now() - t0);
        continue;
      }
      if (!steps.length) continue; // an alias: no work
      querySet ??= device.createQuerySet({ type: 'timestamp', count: 2 * PER_SET });
      enc ??= device.createCommandEncoder();
      const i = stamped.length;
      const pass = enc.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      this.encodeNode(pass, steps);
      pass.end();
      stamped.push(node.op);
      if (stamped.length === PER_SET) await flush();
    }
    await flush();
    return ms;
  }

  /** A node without a WGSL kernel: its inputs come back from the device, its outputs go up. */
  private async runOnHost(node: Node): Promise<void> {
    const ins: RT[] = [];
    for (const [slot, id] of node.inputs.entries()) {
      if (id < 0) continue;
      const t = this.g.tensors[id];
      if (this.g.isConst(id)) {
        ins.push(runsDequantized(node) && isQuantizedWeight(t) ? { shape: t.shape, data: dequantizeWeight(this.g, node, slot) } : constValue(t));
        continue;
      }
      const v = await this.read(id);
      // Device buffers hold every tensor as f32; integer tensors (indices, lengths) go back to their type.
      ins.push(t.dtype === 'float32' ? v : { shape: v.shape, data: Int32Array.from(v.data as Float32Array, Math.round) });
    }
    const outs = runNode(node, ins, this.g);
    node.outputs.forEach((id, j) => {
      const out = outs[j];
      if (!out) return;
      const data = out.data instanceof Float32Array ? out.data : Float32Array.from(out.data as ArrayLike<number>);
      // A size that depends on input values (Range of run-time bounds) is only known now: the value stays on the
      // host, for host ops and the graph's outputs (a WGSL kernel reading it would not have been built).
      if (this.shapeOf(id).some((d) => d < 0)) {
        this.hostValues.set(id, { shape: out.shape, data });
        return;
      }
      const need = sizeOf(this.shapeOf(id));
      if (data.length !== need) throw new Error(`${node.op} ${node.name}: host kernel wrote ${data.length} values for ${need}`);
      this.ctx.device.queue.writeBuffer(this.buffers.get(id)!, 0, data.buffer, data.byteOffset, data.byteLength);
    });
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

  async run(inputs: Float32Array[], hook?: TensorHook): Promise<void> {
    this.writeInputs(inputs);
    await this.forward(hook);
  }

  bufferOf(id: number): GPUBuffer {
    return this.buffers.get(id)!;
  }

  async read(id: number): Promise<RT> {
    // A graph output that is a constant (everything folded away) never reaches the device.
    if (!this.buffers.has(id) && this.g.isConst(id)) return constValue(this.g.tensors[id]);
    const onHost = this.hostValues.get(id);
    if (onHost) return onHost;
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
