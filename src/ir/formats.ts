/**
 * Tensor `format` labels as MindSpore Lite's runtime sees them. At InferShape the runtime recomputes every
 * activation's label from its producer's first input (SetDataTypeFormat); a 4-D Transpose by exactly
 * NCHW->NHWC or NHWC->NCHW flips it, and a 3-D Transpose whose perm starts [0, 2] swaps NCHW and NHWC. Graph
 * inputs and constants keep the label stored in the file. Conv, deconv, pooling and Resize read H, W and C
 * by that label (Resize accepts NCHW too, and then reads the wrong dims), so a wrong label on a graph input
 * makes a model that fails to load ("InferShape failed") or computes on swapped dims.
 */
import { Graph, Format, FmkType } from './graph.js';
import { NCHW_TO_NHWC, NHWC_TO_NCHW } from './layout.js';
import { findOp } from './op-registry.js';

/** Ops whose 4-D data input the runtime requires to be labelled NHWC (their infer functions check it). */
const needsNhwc = (op: string) => findOp(op)?.layout === 'nhwc';

function transposeLabel(g: Graph, node: { inputs: number[] }, input: number): number {
  const perm = g.tensors[node.inputs[1]]?.data;
  if (!perm) return input;
  const p = Array.from(perm).join();
  if (perm.length === 4) {
    if (input === Format.NCHW && p === NCHW_TO_NHWC.join()) return Format.NHWC;
    if ((input === Format.NHWC || input === Format.KHWC) && p === NHWC_TO_NCHW.join()) return Format.NCHW;
  }
  if (perm.length === 3 && perm[0] === 0 && perm[1] === 2) return input === Format.NCHW ? Format.NHWC : Format.NCHW;
  return input;
}

/**
 * The label of every tensor after the runtime's InferShape, from the stored labels of inputs and constants.
 * `visit` sees each node, with the labels so far, before its outputs are labelled.
 */
export function runtimeFormats(g: Graph, visit?: (n: Graph['nodes'][number], labels: number[]) => void): number[] {
  const labels = g.tensors.map((t) => t.format);
  for (const n of g.nodes) {
    visit?.(n, labels);
    const first = n.inputs[0] !== undefined && n.inputs[0] >= 0 ? labels[n.inputs[0]] : Format.NCHW;
    const out = n.op === 'Transpose' ? transposeLabel(g, n, first) : first;
    for (const o of n.outputs) labels[o] = out;
  }
  return labels;
}

/** NHWC ops whose 4-D input would reach the runtime with another label (it refuses to load such a model). */
export function mislabelledNhwcInputs(g: Graph, labels = runtimeFormats(g)): string[] {
  const v: string[] = [];
  for (const n of g.nodes) {
    const x = n.inputs[0];
    if (!needsNhwc(n.op) || x === undefined || g.tensors[x].shape.length !== 4) continue;
    if (labels[x] !== Format.NHWC && labels[x] !== Format.KHWC)
      v.push(`node ${n.name} (${n.op}): input ${g.tensors[x].name} reaches the runtime labelled ${formatName(labels[x])}, not NHWC`);
  }
  return v;
}

/** Ops the runtime would reject or read with swapped dims, and activations stored with another label than it infers. */
export function formatViolations(g: Graph): string[] {
  const labels = runtimeFormats(g);
  const v = mislabelledNhwcInputs(g, labels);
  g.tensors.forEach((t, i) => {
    if (!t.data && !t.raw && labels[i] !== t.format)
      v.push(`tensor ${t.name}: stored format ${formatName(t.format)} but the runtime infers ${formatName(labels[i])}`);
  });
  return v;
}

const formatName = (f: number) => (f === Format.NCHW ? 'NCHW' : f === Format.NHWC ? 'NHWC' : f === Format.KHWC ? 'KHWC' : `format ${f}`);

/**
 * Labels every tensor with the format its data has: 4-D graph inputs of channels-last frameworks are NHWC, and
 * a 4-D input of an NCHW framework is NHWC when its data reaches an NHWC op without a format transpose (the
 * importer made it NHWC, or the model was NHWC already); activations then take the labels the runtime infers.
 */
export function assignFormats(g: Graph): void {
  const channelsLast = g.fmkType === FmkType.TFLITE || g.fmkType === FmkType.MSLITE || g.fmkType === FmkType.TF;
  for (const id of g.inputs) {
    const t = g.tensors[id];
    if (t.shape.length !== 4) continue;
    if (channelsLast) {
      t.format = Format.NHWC;
      continue;
    }
    const mislabelled = () => mislabelledNhwcInputs(g, runtimeFormats(g)).length;
    const before = t.format, asIs = mislabelled();
    t.format = before === Format.NHWC ? Format.NCHW : Format.NHWC;
    if (mislabelled() >= asIs) t.format = before;
  }
  relabelNhwcInputs(g);
  // An elementwise op written constant-first (paddle2onnx's `scale * x`) would pass the constant's label on:
  // the constant takes the label of the activation it meets, which is the layout of the data.
  const labels = runtimeFormats(g, (n, known) => {
    const [first, ...rest] = n.inputs;
    if (first === undefined || first < 0 || !g.isConst(first) || findOp(n.op)?.layout !== 'broadcast') return;
    const act = rest.find((i) => i >= 0 && !g.isConst(i) && g.tensors[i].shape.length === 4);
    if (act === undefined || known[act] === known[first]) return;
    g.tensors[first].format = known[first] = known[act];
  });
  g.tensors.forEach((t, i) => {
    if (!t.data && !t.raw && !g.inputs.includes(i)) t.format = labels[i];
  });
}

/**
 * An NHWC op whose 4-D input the runtime would label NCHW though its data is NHWC (a Conv1D written as
 * EXPAND_DIMS + CONV_2D, a convolution after Reshape / Transpose / StridedSlice arithmetic) reads it through a
 * pair of transposes, NHWC->NCHW then NCHW->NHWC: the data comes back unchanged and the second flips the label
 * to NHWC. Runs after eliminateTransposes, which would cancel the pair.
 */
function relabelNhwcInputs(g: Graph): void {
  for (let guard = 0; guard < g.nodes.length; guard++) {
    const labels = runtimeFormats(g);
    const at = g.nodes.findIndex((n) => {
      const x = n.inputs[0];
      return needsNhwc(n.op) && x !== undefined && x >= 0 && g.tensors[x].shape.length === 4 && labels[x] === Format.NCHW && !g.isConst(x);
    });
    if (at < 0) return;
    const node = g.nodes[at], x = node.inputs[0], t = g.tensors[x];
    const [n, h, w, c] = t.shape;
    const permute = (input: number, perm: number[], suffix: string, shape: number[]) => {
      const out = g.addTensor({ name: `${node.name}_${suffix}`, shape, dtype: t.dtype });
      const permId = g.addConst(`${node.name}_${suffix}_perm`, Int32Array.from(perm), [4]);
      g.nodes.splice(g.nodes.indexOf(node), 0, { name: `${node.name}_${suffix}`, op: 'Transpose', attrs: {}, inputs: [input, permId], outputs: [out], quantType: 0 });
      return out;
    };
    const nchw = permute(x, NHWC_TO_NCHW, 'label_nchw', [n, c, h, w]);
    node.inputs[0] = permute(nchw, NCHW_TO_NHWC, 'label_nhwc', [n, h, w, c]);
  }
}
