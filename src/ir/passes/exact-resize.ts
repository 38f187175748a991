/**
 * ONNX Resize where MindSpore Lite's runtime would sample other pixels. The runtime's kernel ignores
 * `nearest_mode` (it floors), divides by the output/input size ratio where ONNX divides by the given scale
 * (they differ when size = floor(input × scale) is not exact), and never applies `exclude_outside`. Where the
 * taps the runtime would take (ir/resize-coords) differ from ONNX's along an axis of known size, the Resize is
 * written with ops that compute ONNX's taps exactly: Gathers of the source rows / columns with constant index
 * tables, and for linear and cubic modes their weighted sum (Mul by constant weights, Add). Where they agree the
 * Resize stays, as MindSpore's converter writes it.
 */
import { Graph, Node } from '../graph.js';
import { NCHW_TO_NHWC, NHWC_TO_NCHW } from '../layout.js';
import { ResizeMethod } from '../schema/ops.js';
import { cubicSourceTaps, linearSourceTaps, nearestSourceIndices } from '../resize-coords.js';

/** What the ONNX importer records on a Resize node for this pass (removed by it). */
export interface OnnxResizeInfo {
  coordinateMode: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  /** The given scales of H and W, when the model gives scales (else the sizes define them). */
  scales?: [number, number];
}

const f = Math.fround;

/** Taps along one axis: for each output index, source indices and their weights. */
interface Taps { index: number[][]; weight: number[][] }

/** ONNX's source coordinate of output index x (float32 arithmetic, as onnxruntime). */
function onnxCoordinate(mode: string, x: number, inLen: number, outLen: number, scale: number): number {
  switch (mode) {
    // onnxruntime divides by the output length less one; ONNX's reference by input × scale less one (they
    // differ for non-exact scales): the runtime users compare with is followed.
    case 'align_corners': return outLen === 1 ? 0 : f(f(x * f(inLen - 1)) / f(outLen - 1));
    case 'asymmetric': return f(x / scale);
    case 'pytorch_half_pixel': return outLen > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case 'tf_half_pixel_for_nn': return f(f(x + 0.5) / scale);
    default: return f(f(f(x + 0.5) / scale) - 0.5); // half_pixel
  }
}

function onnxTaps(info: OnnxResizeInfo, method: number, inLen: number, outLen: number, scale: number): Taps {
  const clamp = (i: number) => Math.min(Math.max(i, 0), inLen - 1);
  const index: number[][] = [], weight: number[][] = [];
  for (let x = 0; x < outLen; x++) {
    const s = onnxCoordinate(info.coordinateMode, x, inLen, outLen, scale);
    if (method === ResizeMethod.NEAREST) {
      const fl = Math.floor(s), half = s - fl === 0.5;
      const r = info.nearestMode === 'floor' ? fl : info.nearestMode === 'ceil' ? Math.ceil(s)
        : half ? (info.nearestMode === 'round_prefer_ceil' ? fl + 1 : fl) : Math.round(s);
      index.push([clamp(r)]);
      weight.push([1]);
    } else if (method === ResizeMethod.LINEAR) {
      const c = Math.min(Math.max(s, 0), inLen - 1), lo = Math.floor(c), d = f(c - lo);
      index.push([lo, clamp(lo + 1)]);
      weight.push([f(1 - d), d]);
    } else {
      const a = info.cubicA, fl = Math.floor(s), d = s - fl;
      const w = (t: number) => {
        t = Math.abs(t);
        return t <= 1 ? ((a + 2) * t - (a + 3)) * t * t + 1 : t < 2 ? ((a * t - 5 * a) * t + 8 * a) * t - 4 * a : 0;
      };
      const idx = [-1, 0, 1, 2].map((k) => fl + k);
      let ws = idx.map((_, k) => w(k - 1 - d));
      if (info.excludeOutside) {
        ws = ws.map((v, k) => (idx[k] < 0 || idx[k] >= inLen ? 0 : v));
        const sum = ws.reduce((p, q) => p + q, 0);
        ws = ws.map((v) => v / sum);
      }
      index.push(idx.map(clamp));
      weight.push(ws.map(f));
    }
  }
  return { index, weight };
}

/** The taps MindSpore Lite's runtime takes (ir/resize-coords), in the same form. */
function runtimeTaps(method: number, ctm: number, inLen: number, outLen: number, cubicA: number): Taps {
  if (method === ResizeMethod.NEAREST) {
    const idx = nearestSourceIndices(ctm, inLen, outLen);
    return { index: Array.from(idx, (i) => [i]), weight: Array.from(idx, () => [1]) };
  }
  if (method === ResizeMethod.LINEAR) {
    const t = linearSourceTaps(ctm, inLen, outLen);
    return { index: Array.from(t.lo, (lo, x) => [lo, t.hi[x]]), weight: Array.from(t.loWeight, (w) => [w, f(1 - w)]) };
  }
  const t = cubicSourceTaps(ctm, inLen, outLen, cubicA);
  return { index: Array.from({ length: outLen }, (_, x) => Array.from(t.index.slice(4 * x, 4 * x + 4))), weight: Array.from({ length: outLen }, (_, x) => Array.from(t.weight.slice(4 * x, 4 * x + 4))) };
}

/** Same source value for every output index: equal taps, up to weights within float rounding. */
function sameSamples(a: Taps, b: Taps): boolean {
  return a.index.every((ia, x) => {
    const sum = (t: Taps) => {
      const m = new Map<number, number>();
      t.index[x].forEach((i, k) => m.set(i, (m.get(i) ?? 0) + t.weight[x][k]));
      return m;
    };
    const ma = sum(a), mb = sum(b);
    for (const [i, w] of [...ma, ...mb]) if (Math.abs((ma.get(i) ?? 0) - (mb.get(i) ?? 0)) > 1e-6 * Math.max(1, Math.abs(w))) return false;
    void ia;
    return true;
  });
}

export function exactResize(g: Graph): boolean {
  let changed = false;
  const producers = g.producers(), consumers = g.consumers();
  for (const node of [...g.nodes]) {
    const info = node.attrs.onnx as OnnxResizeInfo | undefined;
    if (node.op !== 'Resize' || !info) continue;
    delete node.attrs.onnx;
    const pre = producers.get(node.inputs[0]), post = consumers.get(node.outputs[0]);
    const isTranspose = (n: Node | undefined, perm: number[]) => n?.op === 'Transpose' && String(Array.from(g.tensors[n.inputs[1]]?.data ?? [])) === String(perm);
    if (!isTranspose(pre, NCHW_TO_NHWC) || post?.length !== 1 || !isTranspose(post[0], NHWC_TO_NCHW)) continue;
    const x = pre!.inputs[0];
    const [, , h, w] = g.tensors[x].shape, [, oh, ow] = g.tensors[node.outputs[0]].shape;
    if (![h, w, oh, ow].every((d) => d > 0)) continue;
    const method = node.attrs.method as number, ctm = node.attrs.coordinate_transform_mode as number;
    const scale = (k: 0 | 1, inLen: number, outLen: number) => f(info.scales?.[k] ?? outLen / inLen);
    const want = [onnxTaps(info, method, h, oh, scale(0, h, oh)), onnxTaps(info, method, w, ow, scale(1, w, ow))];
    const a = (node.attrs.cubic_coeff as number) ?? -0.75;
    const have = [runtimeTaps(method, ctm, h, oh, a), runtimeTaps(method, ctm, w, ow, a)];
    if (sameSamples(want[0], have[0]) && sameSamples(want[1], have[1])) continue;
    // Along H (NCHW axis 2), then W (axis 3), writing the tensor the post transpose wrote.
    const steps: Node[] = [];
    const add = (op: string, attrs: Record<string, unknown>, inputs: number[], suffix: string, out?: number) => {
      const id = out ?? g.addTensor({ name: `${node.name}_${suffix}` });
      steps.push({ name: `${node.name}_${suffix}`, op, attrs, inputs, outputs: [id], quantType: 0 });
      return id;
    };
    const along = (input: number, axis: 2 | 3, taps: Taps, suffix: string, out?: number) => {
      const k = taps.index[0].length, n = taps.index.length;
      const shape = axis === 2 ? [1, 1, n, 1] : [1, 1, 1, n];
      let acc = -1;
      for (let j = 0; j < k; j++) {
        const idx = g.addConst(`${node.name}_${suffix}_index${j}`, Int32Array.from(taps.index, (t) => t[j]), [n]);
        const picked = add('Gather', {}, [input, idx, g.addConst(`${node.name}_${suffix}_axis${j}`, Int32Array.of(axis), [1])], `${suffix}_gather${j}`, k === 1 ? out : undefined);
        if (k === 1) return picked;
        const weighted = add('MulFusion', { activation_type: 0 }, [picked, g.addConst(`${node.name}_${suffix}_weight${j}`, Float32Array.from(taps.weight, (t) => t[j]), shape)], `${suffix}_weighted${j}`);
        acc = acc < 0 ? weighted : add('AddFusion', { activation_type: 0 }, [acc, weighted], `${suffix}_sum${j}`, j === k - 1 ? out : undefined);
      }
      return acc;
    };
    along(along(x, 2, want[0], 'rows'), 3, want[1], 'cols', post[0].outputs[0]);
    const at = g.nodes.indexOf(post[0]);
    g.nodes.splice(at, 1, ...steps);
    g.nodes.splice(g.nodes.indexOf(node), 1);
    changed = true;
  }
  return changed;
}
