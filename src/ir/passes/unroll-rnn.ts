/**
 * Recurrent layers MindSpore Lite's fused kernels cannot compute — PyTorch's GRU (linear_before_reset = 1),
 * activations other than the defaults, clip, input_forget, peepholes, reverse direction, ONNX's plain RNN
 * (the runtime has no such kernel) — written as the
 * primitive ops the runtime has (Gather, MatMul, Add, Mul, Sub, Split, Activation, Unsqueeze, Concat),
 * unrolled over the static sequence length. The importer emits them as `RnnToUnroll` with ONNX's inputs
 * (X [seq, batch, in], W, R, B, sequence_lens, initial_h, initial_c, P) and attributes; this pass runs once
 * shapes are known and leaves none behind.
 */
import { Graph, Node, UserError } from '../graph.js';
import { ActivationType as Act } from '../schema/ops.js';

export interface RnnToUnrollAttrs {
  kind: 'LSTM' | 'GRU' | 'RNN';
  direction: 'forward' | 'reverse' | 'bidirectional';
  hidden: number;
  linearBeforeReset: boolean;
  /** ONNX activation names, per direction (f, g for GRU; f, g, h for LSTM). */
  activations: string[];
  alphas: number[];
  betas: number[];
  /** ONNX's clip: gate pre-activations within ±clip. */
  clip?: number;
  /** TFLite's cell_clip: the cell state within ±cellClip. */
  cellClip?: number;
  inputForget: boolean;
}

/** ONNX's default activations per direction. */
export const DEFAULT_ACTIVATIONS = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };

/** ONNX activation functions this lowering writes, and whether they take alpha / beta. */
const ACTIVATIONS: Record<string, { alpha?: number; beta?: number }> = {
  sigmoid: {}, tanh: {}, relu: {}, softplus: {}, leakyrelu: { alpha: 0.01 }, elu: { alpha: 1 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 }, affine: { alpha: 1, beta: 0 }, scaledtanh: { alpha: 1, beta: 1 },
};

export function supportedRnnActivation(name: string): boolean {
  return name.toLowerCase() in ACTIVATIONS;
}

export function unrollRecurrent(g: Graph): boolean {
  const todo = g.nodes.filter((n) => n.op === 'RnnToUnroll');
  for (const node of todo) {
    const built = new Unroller(g, node).build();
    g.nodes.splice(g.nodes.indexOf(node), 1, ...built);
  }
  return todo.length > 0;
}

type Fn = (x: number, name: string) => number;

class Unroller {
  private nodes: Node[] = [];
  private a: RnnToUnrollAttrs;
  private alphaAt = 0;
  private betaAt = 0;

  constructor(private g: Graph, private node: Node) {
    this.a = node.attrs as unknown as RnnToUnrollAttrs;
  }

  private fail(msg: string): never {
    throw new UserError(`node ${this.node.name} (${this.a.kind}): ${msg}`);
  }

  private step(op: string, attrs: Record<string, unknown>, inputs: number[], suffix: string, outputs?: number[]): number {
    const name = `${this.node.name}_${suffix}`;
    const outs = outputs ?? [this.g.addTensor({ name })];
    const n = this.g.addNode({ name, op, attrs, inputs, outputs: outs });
    this.g.nodes.pop(); // placed where the recurrent node was, by unrollRecurrent
    this.nodes.push(n);
    return outs[0];
  }

  private constant(suffix: string, data: Float32Array | Int32Array, shape: number[]): number {
    return this.g.addConst(`${this.node.name}_${suffix}`, data, shape);
  }

  private bin(op: string, x: number, y: number, suffix: string): number {
    return this.step(op, { activation_type: 0 }, [x, y], suffix);
  }

  private gather(x: number, index: number, suffix: string): number {
    return this.step('Gather', {}, [x, this.constant(`${suffix}_index`, Int32Array.of(index), []), this.constant(`${suffix}_axis`, Int32Array.of(0), [1])], suffix);
  }

  private split(x: number, parts: number, suffix: string): number[] {
    const outs = [...Array(parts).keys()].map((k) => this.g.addTensor({ name: `${this.node.name}_${suffix}_${k}` }));
    this.step('Split', { output_num: parts, size_splits: null, axis: 1 }, [x], suffix, outs);
    return outs;
  }

  private constData(slot: number): Float32Array | undefined {
    const id = this.node.inputs[slot];
    if (id === undefined || id < 0) return undefined;
    const d = this.g.tensors[id].data;
    if (!d) this.fail(`input ${slot} (${this.g.tensors[id].name}) must be a constant to be unrolled`);
    return Float32Array.from(d as ArrayLike<number>);
  }

  /** One ONNX activation function as ops, with its alpha / beta taken in order from the attribute lists. */
  private activation(name: string): Fn {
    const key = name.toLowerCase(), spec = ACTIVATIONS[key];
    if (!spec) this.fail(`activation ${name} is not supported (supported: Sigmoid, Tanh, Relu, LeakyRelu, Elu, Softplus, HardSigmoid, Affine, ScaledTanh)`);
    const alpha = spec.alpha === undefined ? 0 : (this.a.alphas[this.alphaAt++] ?? spec.alpha);
    const beta = spec.beta === undefined ? 0 : (this.a.betas[this.betaAt++] ?? spec.beta);
    const act = (type: number, x: number, s: string, extra: Record<string, unknown> = {}) =>
      this.step('Activation', { activation_type: type, alpha: 0, min_val: 0, max_val: 0, ...extra }, [x], s);
    const scaled = (x: number, k: number, s: string) => (k === 1 ? x : this.bin('MulFusion', x, this.constant(`${s}_k`, Float32Array.of(k), []), s));
    const shifted = (x: number, k: number, s: string) => (k === 0 ? x : this.bin('AddFusion', x, this.constant(`${s}_k`, Float32Array.of(k), []), s));
    switch (key) {
      case 'sigmoid': return (x, s) => act(Act.SIGMOID, x, s);
      case 'tanh': return (x, s) => act(Act.TANH, x, s);
      case 'relu': return (x, s) => act(Act.RELU, x, s);
      case 'softplus': return (x, s) => act(Act.SOFTPLUS, x, s);
      case 'leakyrelu': return (x, s) => act(Act.LEAKY_RELU, x, s, { alpha });
      case 'elu': return (x, s) => act(Act.ELU, x, s, { alpha });
      case 'hardsigmoid': return (x, s) => act(Act.HARD_TANH, shifted(scaled(x, alpha, `${s}_a`), beta, `${s}_b`), s, { min_val: 0, max_val: 1 });
      case 'affine': return (x, s) => shifted(scaled(x, alpha, `${s}_a`), beta, `${s}_b`);
      default: return (x, s) => scaled(act(Act.TANH, scaled(x, beta, `${s}_b`), s), alpha, `${s}_a`); // scaledtanh
    }
  }

  build(): Node[] {
    const { kind, hidden: H, direction } = this.a;
    const G = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
    const x = this.node.inputs[0];
    const [seq, batch, input] = this.g.tensors[x].shape;
    if (!(seq > 0)) this.fail('the sequence length must be known at conversion to unroll this layer (give it with --inputShape)');
    const w = this.constData(1)!, r = this.constData(2)!, b = this.constData(3);
    const lens = this.node.inputs[4] >= 0 ? this.g.tensors[this.node.inputs[4]].data : undefined;
    if (this.node.inputs[4] >= 0 && (!lens || Array.from(lens).some((l) => l !== seq)))
      this.fail('sequence_lens other than the full length cannot be unrolled');
    const dirs = direction === 'bidirectional' ? 2 : 1;
    if (w.length !== dirs * G * H * input) this.fail(`W has ${w.length} values, expected ${dirs}×${G * H}×${input}`);
    const peep = kind === 'LSTM' ? this.constData(7) : undefined;
    const perDir = DEFAULT_ACTIVATIONS[kind].length;
    const acts = this.a.activations.length ? this.a.activations : [...DEFAULT_ACTIVATIONS[kind], ...(dirs === 2 ? DEFAULT_ACTIVATIONS[kind] : [])];
    if (acts.length !== perDir * dirs) this.fail(`activations lists ${acts.length} functions, expected ${perDir * dirs}`);
    const hSteps: number[][] = [], hs: number[] = [], cs: number[] = [];
    for (let d = 0; d < dirs; d++) {
      const reverse = direction === 'reverse' || d === 1;
      const fns = acts.slice(d * perDir, (d + 1) * perDir).map((name) => this.activation(name));
      const slice = (data: Float32Array, per: number, from: number, count: number) => data.slice(d * per + from, d * per + from + count);
      const p = `d${d}`;
      const state = (slot: number, s: string) => {
        if (this.node.inputs[slot] >= 0) return this.gather(this.node.inputs[slot], d, `${p}_${s}0`);
        if (!(batch > 0)) this.fail('the batch size must be known at conversion when the initial state is omitted (give it with --inputShape)');
        return this.constant(`${p}_${s}0`, new Float32Array(batch * H), [batch, H]);
      };
      let h = state(5, 'h'), c = kind === 'LSTM' ? state(6, 'c') : -1;
      const wConst = this.constant(`${p}_W`, slice(w, G * H * input, 0, G * H * input), [G * H, input]);
      const wb = this.constant(`${p}_Wb`, b ? slice(b, 2 * G * H, 0, G * H) : new Float32Array(G * H), [G * H]);
      // GRU with linear_before_reset = 0 multiplies the reset gate into h before the candidate's recurrence.
      const split = kind === 'GRU' && !this.a.linearBeforeReset;
      const rRows = split ? 2 * H : G * H;
      const rConst = this.constant(`${p}_R`, slice(r, G * H * H, 0, rRows * H), [rRows, H]);
      const rb = this.constant(`${p}_Rb`, b ? slice(b, 2 * G * H, G * H, rRows) : new Float32Array(rRows), [rRows]);
      const rhConst = split ? this.constant(`${p}_Rh`, slice(r, G * H * H, 2 * H * H, H * H), [H, H]) : -1;
      const rhb = split ? this.constant(`${p}_Rhb`, b ? slice(b, 2 * G * H, G * H + 2 * H, H) : new Float32Array(H), [H]) : -1;
      const peephole = (k: number) => (peep ? this.constant(`${p}_P${k}`, slice(peep, 3 * H, k * H, H), [H]) : -1);
      const [pi, po, pf] = [0, 1, 2].map(peephole);
      const clip = (v: number, s: string) => (this.a.clip === undefined ? v : this.step('Activation', { activation_type: Act.HARD_TANH, alpha: 0, min_val: -this.a.clip, max_val: this.a.clip }, [v], s));
      const matmul = (v: number, m: number, bias: number, s: string) =>
        this.bin('AddFusion', this.step('MatMulFusion', { transpose_a: false, transpose_b: true, activation_type: 0 }, [v, m], s), bias, `${s}_bias`);
      const steps: number[] = new Array(seq);
      hSteps.push(steps);
      for (let i = 0; i < seq; i++) {
        const t = reverse ? seq - 1 - i : i, q = `${p}_t${t}`;
        const xw = matmul(this.gather(x, t, `${q}_x`), wConst, wb, `${q}_xw`);
        const hr = matmul(h, rConst, rb, `${q}_hr`);
        if (kind === 'RNN') {
          h = fns[0](clip(this.bin('AddFusion', xw, hr, `${q}_sum`), `${q}_clip`), `${q}_h`);
        } else if (kind === 'GRU') {
          const [xz, xr, xh] = this.split(xw, 3, `${q}_xw_split`);
          const rec = this.split(hr, split ? 2 : 3, `${q}_hr_split`);
          const z = fns[0](clip(this.bin('AddFusion', xz, rec[0], `${q}_zsum`), `${q}_zclip`), `${q}_z`);
          const reset = fns[0](clip(this.bin('AddFusion', xr, rec[1], `${q}_rsum`), `${q}_rclip`), `${q}_r`);
          const recH = split ? matmul(this.bin('MulFusion', reset, h, `${q}_rh`), rhConst, rhb, `${q}_hh`) : this.bin('MulFusion', reset, rec[2], `${q}_rhh`);
          const n = fns[1](clip(this.bin('AddFusion', xh, recH, `${q}_nsum`), `${q}_nclip`), `${q}_n`);
          // h' = (1 - z) n + z h = n + z (h - n)
          h = this.bin('AddFusion', n, this.bin('MulFusion', z, this.bin('SubFusion', h, n, `${q}_hmn`), `${q}_zd`), `${q}_h`);
        } else {
          const [si, so, sf, sc] = this.split(this.bin('AddFusion', xw, hr, `${q}_sum`), 4, `${q}_split`);
          const withPeep = (s: number, pk: number, cell: number, name: string) => (pk < 0 ? s : this.bin('AddFusion', s, this.bin('MulFusion', pk, cell, `${name}_p`), `${name}_pp`));
          const ig = fns[0](clip(withPeep(si, pi, c, `${q}_i`), `${q}_iclip`), `${q}_i`);
          const fg = this.a.inputForget
            ? this.bin('SubFusion', this.constant(`${q}_one`, Float32Array.of(1), []), ig, `${q}_f`)
            : fns[0](clip(withPeep(sf, pf, c, `${q}_f`), `${q}_fclip`), `${q}_f`);
          const cand = fns[1](clip(sc, `${q}_cclip`), `${q}_g`);
          c = this.bin('AddFusion', this.bin('MulFusion', fg, c, `${q}_fc`), this.bin('MulFusion', ig, cand, `${q}_ig`), `${q}_c`);
          const cc = this.a.cellClip;
          if (cc) c = this.step('Activation', { activation_type: Act.HARD_TANH, alpha: 0, min_val: -cc, max_val: cc }, [c], `${q}_c_clip`);
          const og = fns[0](clip(withPeep(so, po, c, `${q}_o`), `${q}_oclip`), `${q}_o`);
          h = this.bin('MulFusion', og, fns[2](c, `${q}_hc`), `${q}_h`);
        }
        steps[t] = h;
      }
      hs.push(h);
      if (kind === 'LSTM') cs.push(c);
    }
    // The node's own output tensors are written by the last ops, so every consumer keeps its input; an unused
    // output's ops are dead and removed later.
    const outs = this.node.outputs;
    const stack = (parts: number[], axis: number, s: string, out?: number) =>
      parts.length === 1 ? parts[0] : this.step('Concat', { axis }, parts, s, out === undefined ? undefined : [out]);
    const unsqueeze = (v: number, axis: number[], s: string, out?: number) => this.step('Unsqueeze', { axis }, [v], s, out === undefined ? undefined : [out]);
    // Y [seq, dirs, batch, H]
    if (dirs === 1 && seq === 1) unsqueeze(hSteps[0][0], [0, 1], 'Y', outs[0]);
    else if (dirs === 1) stack(hSteps[0].map((v, t) => unsqueeze(v, [0, 1], `d0_t${t}_y`)), 0, 'Y', outs[0]);
    else stack(hSteps.map((steps, d) => stack(steps.map((v, t) => unsqueeze(v, [0, 1], `d${d}_t${t}_y`)), 0, `d${d}_y`)), 1, 'Y', outs[0]);
    // Y_h, Y_c [dirs, batch, H]
    const last = (states: number[], slot: number, s: string) => {
      if (outs[slot] === undefined || outs[slot] < 0) return;
      if (dirs === 1) unsqueeze(states[0], [0], s, outs[slot]);
      else stack(states.map((v, d) => unsqueeze(v, [0], `d${d}_${s}`)), 0, s, outs[slot]);
    };
    last(hs, 1, 'Y_h');
    if (kind === 'LSTM') last(cs, 2, 'Y_c');
    return this.nodes;
  }
}
