/**
 * LSTM and GRU with ONNX's inputs and gate order, as MindSpore keeps them for ONNX models: X [seq, batch, in],
 * W [dir, G*H, in], R [dir, G*H, H], B [dir, 2*G*H] (input then recurrence biases), optional sequence lengths and
 * initial states; outputs Y [seq, dir, batch, H], Y_h [dir, batch, H] (and Y_c for LSTM). Default activations.
 */
import type { Node } from '../ir/graph.js';
import type { RT } from '../ir/tensor.js';
import { activationFn } from './activation.js';
import { ActivationType as A } from '../ir/schema/ops.js';

interface Rnn {
  seq: number; batch: number; input: number; hidden: number; dirs: number;
  x: ArrayLike<number>; w: ArrayLike<number>; r: ArrayLike<number>; b?: ArrayLike<number>;
  lens?: ArrayLike<number>; h0?: ArrayLike<number>;
}

/** Input `slot` of the node, or undefined when that optional input is omitted (-1); `ins` holds only the present ones. */
export function inputAt<T>(node: Node, ins: T[], slot: number): T | undefined {
  if (node.inputs[slot] === undefined || node.inputs[slot] < 0) return undefined;
  return ins[node.inputs.slice(0, slot).filter((i) => i >= 0).length];
}

function setup(node: Node, ins: RT[]): Rnn {
  const [x, w, r, b, lens, h0] = [0, 1, 2, 3, 4, 5].map((k) => inputAt(node, ins, k));
  const [seq, batch, input] = x!.shape;
  return {
    seq, batch, input, hidden: r!.shape[2], dirs: w!.shape[0],
    x: x!.data, w: w!.data, r: r!.data, b: b?.data, lens: lens?.data, h0: h0?.data,
  };
}

/** Gate pre-activations for direction d, batch row n: W x_t + R h + biases, `gates` blocks of H. */
function project(p: Rnn, gates: number, d: number, t: number, n: number, h: Float32Array, out: Float64Array, recurrent = true): void {
  const H = p.hidden, G = gates * H;
  for (let g = 0; g < G; g++) {
    let v = p.b ? p.b[d * 2 * G + g] + (recurrent ? p.b[d * 2 * G + G + g] : 0) : 0;
    const wo = (d * G + g) * p.input, xo = (t * p.batch + n) * p.input;
    for (let k = 0; k < p.input; k++) v += p.w[wo + k] * p.x[xo + k];
    if (recurrent) {
      const ro = (d * G + g) * H;
      for (let k = 0; k < H; k++) v += p.r[ro + k] * h[n * H + k];
    }
    out[g] = v;
  }
}

/** Runs `step` over time for each direction (reverse: last step first), honouring sequence lengths. */
function scan(p: Rnn, y: Float32Array, states: Float32Array[], step: (d: number, t: number, n: number) => void): void {
  const H = p.hidden;
  for (let d = 0; d < p.dirs; d++)
    for (let i = 0; i < p.seq; i++) {
      const t = d === 1 ? p.seq - 1 - i : i;
      for (let n = 0; n < p.batch; n++) {
        if (p.lens && t >= p.lens[n]) continue; // past this row's length: state kept, output 0
        step(d, t, n);
        y.set(states[d].subarray(n * H, (n + 1) * H), ((t * p.dirs + d) * p.batch + n) * H);
      }
    }
}

const initial = (p: Rnn, v: ArrayLike<number> | undefined) =>
  Array.from({ length: p.dirs }, (_, d) => (v ? Float32Array.from({ length: p.batch * p.hidden }, (_, i) => v[d * p.batch * p.hidden + i]) : new Float32Array(p.batch * p.hidden)));

/** The gates' functions in the executor's current math mode (exact, or the runtime's in a quantized graph). */
const gateFunctions = () => ({ sigmoid: activationFn(A.SIGMOID)!, tanh: activationFn(A.TANH)! });

export function lstm(node: Node, ins: RT[]): RT[] {
  const p = setup(node, ins);
  const { sigmoid, tanh } = gateFunctions();
  const H = p.hidden;
  const h = initial(p, p.h0), c = initial(p, inputAt(node, ins, 6)?.data);
  const y = new Float32Array(p.seq * p.dirs * p.batch * H);
  const z = new Float64Array(4 * H);
  scan(p, y, h, (d, t, n) => {
    project(p, 4, d, t, n, h[d], z);
    for (let k = 0; k < H; k++) {
      // ONNX gate order: input, output, forget, cell
      const i = sigmoid(z[k]), o = sigmoid(z[H + k]), f = sigmoid(z[2 * H + k]), g = tanh(z[3 * H + k]);
      const cell = f * c[d][n * H + k] + i * g;
      c[d][n * H + k] = cell;
      h[d][n * H + k] = o * tanh(cell);
    }
  });
  const state = (s: Float32Array[]) => ({ shape: [p.dirs, p.batch, H], data: Float32Array.from(s.flatMap((a) => Array.from(a))) });
  return [{ shape: [p.seq, p.dirs, p.batch, H], data: y }, state(h), state(c)];
}

export function gru(node: Node, ins: RT[]): RT[] {
  const p = setup(node, ins);
  const { sigmoid, tanh } = gateFunctions();
  const H = p.hidden;
  const h = initial(p, p.h0);
  const y = new Float32Array(p.seq * p.dirs * p.batch * H);
  const xz = new Float64Array(3 * H), hz = new Float64Array(3 * H), reset = new Float64Array(H);
  const noInput: Rnn = { ...p, input: 0 };
  scan(p, y, h, (d, t, n) => {
    project(p, 3, d, t, n, h[d], xz, false); // W x + Wb
    project(noInput, 3, d, t, n, h[d], hz); // R h + Rb (+ Wb, taken off below)
    const wb = (g: number) => (p.b ? p.b[d * 6 * H + g] : 0);
    const prev = h[d].slice(n * H, (n + 1) * H);
    // ONNX gate order: update, reset, hidden; the reset gate scales h before Rh (linear_before_reset = 0).
    for (let k = 0; k < H; k++) reset[k] = sigmoid(xz[H + k] + hz[H + k] - wb(H + k)) * prev[k];
    for (let k = 0; k < H; k++) {
      const zg = sigmoid(xz[k] + hz[k] - wb(k));
      let rh = p.b ? p.b[d * 6 * H + 3 * H + 2 * H + k] : 0;
      for (let j = 0; j < H; j++) rh += p.r[(d * 3 * H + 2 * H + k) * H + j] * reset[j];
      const cand = tanh(xz[2 * H + k] + rh);
      h[d][n * H + k] = (1 - zg) * cand + zg * prev[k];
    }
  });
  return [{ shape: [p.seq, p.dirs, p.batch, H], data: y }, { shape: [p.dirs, p.batch, H], data: Float32Array.from(h.flatMap((a) => Array.from(a))) }];
}
