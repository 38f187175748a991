/**
 * ONNX ops MindSpore Lite has no kernel for, written with ops it has once shapes are known (the importer's
 * `LowerWithShapes` placeholders, ops/lowering):
 * - DFT along an axis of length N: the real and imaginary parts are MatMuls of the signal with N×K cosine and
 *   sine tables (K = N, or N/2 + 1 one-sided), the axis moved last and back by transposes; inverse divides by N.
 * - BatchNormalization with training_mode = 1: the batch's per-channel mean and (population) variance normalize
 *   x, and the running statistics are updated with the momentum, as onnxruntime computes them.
 */
import { Graph, Node, UserError } from '../graph.js';
import { ReduceMode } from '../schema/ops.js';
import { normAxis } from '../tensor.js';

export function lowerWithShapes(g: Graph): boolean {
  const todo = g.nodes.filter((n) => n.op === 'LowerWithShapes');
  for (const node of todo) {
    const steps: Node[] = [];
    const b = new StepBuilder(g, node, steps);
    if (node.attrs.kind === 'DFT') dft(b);
    else batchNormTraining(b);
    g.nodes.splice(g.nodes.indexOf(node), 1, ...steps);
  }
  return todo.length > 0;
}

class StepBuilder {
  constructor(readonly g: Graph, readonly node: Node, private steps: Node[]) {}

  fail(msg: string): never {
    throw new UserError(`node ${this.node.name} (${this.node.attrs.kind}): ${msg}`);
  }

  step(op: string, attrs: Record<string, unknown>, inputs: number[], suffix: string, out?: number): number {
    const id = out ?? this.g.addTensor({ name: `${this.node.name}_${suffix}` });
    this.steps.push({ name: `${this.node.name}_${suffix}`, op, attrs, inputs, outputs: [id], quantType: 0 });
    return id;
  }

  bin(op: string, x: number, y: number, suffix: string, out?: number): number {
    return this.step(op, { activation_type: 0 }, [x, y], suffix, out);
  }

  floats(suffix: string, data: ArrayLike<number>, shape: number[]): number {
    return this.g.addConst(`${this.node.name}_${suffix}`, Float32Array.from(data), shape);
  }

  ints(suffix: string, data: number[], shape = [data.length]): number {
    return this.g.addConst(`${this.node.name}_${suffix}`, Int32Array.from(data), shape);
  }

  shape(id: number): number[] {
    return this.g.tensors[id].shape;
  }
}

function dft(b: StepBuilder): void {
  const { node } = b;
  const x = node.inputs[0], shape = b.shape(x), rank = shape.length;
  const axis = normAxis(node.attrs.axis as number, rank);
  if (axis === rank - 1) b.fail('the axis must not be the last (real / imaginary) dim');
  const given = node.attrs.length as number, n = given > 0 ? given : shape[axis];
  if (!(shape[axis] > 0)) b.fail('the signal length must be known at conversion (give it with --inputShape)');
  if (n !== shape[axis]) b.fail(`dft_length ${n} other than the signal length ${shape[axis]} is not supported`);
  const inverse = !!node.attrs.inverse, bins = node.attrs.onesided ? Math.floor(n / 2) + 1 : n;
  if (inverse && node.attrs.onesided) b.fail('onesided inverse DFT is not supported');
  const complex = shape[rank - 1] === 2;
  // parts [.., N] with the axis last: real (and imaginary) of the input
  const part = (k: number, s: string) => b.step('Gather', {}, [x, b.ints(`${s}_index`, [k], []), b.ints(`${s}_axis`, [rank - 1])], s);
  const perm = [...Array(rank - 1).keys()].filter((i) => i !== axis).concat(axis);
  const back = perm.map((_, i) => perm.indexOf(i));
  const last = (v: number, s: string) => (axis === rank - 2 ? v : b.step('Transpose', {}, [v, b.ints(`${s}_perm`, perm)], s));
  const re = last(part(0, 'real'), 'real_last'), im = complex ? last(part(1, 'imag'), 'imag_last') : -1;
  const sign = inverse ? 1 : -1, norm = inverse ? 1 / n : 1;
  const table = (fn: (t: number) => number, s: string) => b.floats(s, Float32Array.from({ length: n * bins }, (_, i) => {
    const j = Math.floor(i / bins), k = i % bins;
    return fn((2 * Math.PI * ((j * k) % n)) / n) * norm;
  }), [n, bins]);
  const cos = table(Math.cos, 'cos'), sin = table((t) => sign * Math.sin(t), 'sin');
  const mm = (v: number, m: number, s: string) => b.step('MatMulFusion', { transpose_a: false, transpose_b: false, activation_type: 0 }, [v, m], s);
  // (re + i im)(cos + i sin·sign): real = re cos - im sin', imaginary = re sin' + im cos
  let yr = mm(re, cos, 're_cos'), yi = mm(re, sin, 're_sin');
  if (complex) {
    yr = b.bin('SubFusion', yr, mm(im, sin, 'im_sin'), 'y_real');
    yi = b.bin('AddFusion', yi, mm(im, cos, 'im_cos'), 'y_imag');
  }
  const restore = (v: number, s: string) => (axis === rank - 2 ? v : b.step('Transpose', {}, [v, b.ints(`${s}_perm`, back)], s));
  const pair = [restore(yr, 'real_back'), restore(yi, 'imag_back')].map((v, k) => b.step('Unsqueeze', { axis: [rank - 1] }, [v], `part${k}`));
  b.step('Concat', { axis: rank - 1 }, pair, 'y', node.outputs[0]);
}

function batchNormTraining(b: StepBuilder): void {
  const { node, g } = b;
  const [x, scale, bias, mean, variance] = node.inputs;
  const rank = b.shape(x).length;
  if (rank < 2) b.fail('the input must have a channel dim');
  const eps = node.attrs.epsilon as number, momentum = node.attrs.momentum as number;
  const axes = [0, ...[...Array(rank).keys()].slice(2)];
  const reduce = (v: number, s: string) => b.step('ReduceFusion', { keep_dims: true, mode: ReduceMode.Mean, reduce_to_end: false, coeff: 1 }, [v, b.ints(`${s}_axes`, axes)], s);
  const channelShape = [1, b.shape(x)[1], ...Array(rank - 2).fill(1)];
  const perChannel = (v: number, s: string) => b.step('Reshape', {}, [v, b.ints(`${s}_shape`, channelShape)], s);
  const batchMean = reduce(x, 'batch_mean');
  const centered = b.bin('SubFusion', x, batchMean, 'centered');
  const batchVar = reduce(b.bin('MulFusion', centered, centered, 'squared'), 'batch_var');
  const std = b.step('Sqrt', {}, [b.bin('AddFusion', batchVar, b.floats('eps', [eps], []), 'var_eps')], 'std');
  const normalized = b.bin('DivFusion', centered, std, 'normalized');
  b.bin('AddFusion', b.bin('MulFusion', normalized, perChannel(scale, 'scale_c'), 'scaled'), perChannel(bias, 'bias_c'), 'y', node.outputs[0]);
  const running = (stat: number, batch: number, slot: number, s: string) => {
    if (node.outputs[slot] === undefined || node.outputs[slot] < 0) return;
    const flat = b.step('Reshape', {}, [batch, b.ints(`${s}_flat`, [-1])], `${s}_flat`);
    b.bin('AddFusion', b.bin('MulFusion', stat, b.floats(`${s}_m`, [momentum], []), `${s}_kept`),
      b.bin('MulFusion', flat, b.floats(`${s}_1m`, [1 - momentum], []), `${s}_new`), s, node.outputs[slot]);
  };
  running(mean, batchMean, 1, 'running_mean');
  running(variance, batchVar, 2, 'running_var');
  void g;
}
