/**
 * `[common_quant_param] debug_info_save_path=<dir>` (MindSpore's DebugInfoManager, DETAIL mode): after full
 * quantization, the float and the quantized model run on each calibration sample and three kinds of CSV are
 * written with MindSpore's columns:
 * - quant_param.csv: every QuantParam of every node input and output;
 * - round_<i>.csv: per node input and output of the quantized model (the float model's tensor first where the
 *   node exists in both), min / quartiles / max / mean / standard deviation ("Var", as MindSpore computes it) /
 *   sparsity, and for the quantized one the clip rate and cosine similarity against the float tensor;
 * - output_summary.csv: per round, the cosine similarity of every graph output against the float model's.
 *   (MindSpore takes this from the node that writes the output, which is a cast without a float twin and so
 *   always reads 1; ours compares the output tensors by name.)
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Graph, Node, Tensor } from '../ir/graph.js';
import { sizeOf } from '../ir/graph.js';
import { run } from '../cpu/executor.js';
import type { RT } from '../ir/tensor.js';
import { sampleShape } from '../ir/passes/index.js';
import { dequantizeWeight, isQuantizedWeight } from './dequant.js';
import type { SampleSource } from './stats.js';

/** A number as C++'s default ostream writes a float (%g, 6 significant digits). */
export function cppFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential(5).split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = v.toPrecision(6);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

interface Info {
  node: string;
  op: string;
  tensor: string;
  output: boolean;
  index: number;
  origin: boolean;
  weight: boolean;
  values: Float32Array;
  clip?: number;
  cosine?: number;
}

const key = (i: Info) => `${i.node}\u0000${i.output}\u0000${i.index}`;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 && nb === 0 ? 1 : dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
}

/** The share of float values outside the quantized tensor's [min, max] (GetClipRate). */
function clipRate(origin: Float32Array, compared: Float32Array): number {
  let lo = Infinity, hi = -Infinity, out = 0;
  for (const v of compared) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  for (const v of origin) if (v > hi || v < lo) out++;
  return out / origin.length;
}

function statsRow(i: Info): string {
  const v = i.values, n = v.length;
  const sorted = Float32Array.from(v).sort();
  let sum = 0, zeros = 0;
  for (const x of v) {
    sum += x;
    if (x === 0) zeros++;
  }
  const mean = sum / n;
  let acc = 0;
  for (const x of v) acc += (x - mean) ** 2;
  const cols = [i.node, i.op, i.tensor, i.output ? 'Output' : 'Input', i.origin ? 'Origin' : 'Dequant', i.weight ? 'Weight' : 'Activation',
    ...[sorted[0], sorted[Math.floor(0.25 * n)], sorted[Math.floor(0.5 * n)], sorted[Math.floor(0.75 * n)], sorted[n - 1], mean, Math.sqrt(acc / n), zeros / n,
      i.clip ?? 0, i.cosine ?? 1].map(cppFloat)];
  return `${cols.join(',')},`;
}

/** The values a node input or output holds, dequantized when it carries quant params (as MindSpore's DequantData). */
function observedValues(g: Graph, node: Node, slot: number, t: Tensor, value: RT | undefined, isInput: boolean): Float32Array {
  if (isInput && g.isConst(node.inputs[slot])) {
    if (isQuantizedWeight(t)) return dequantizeWeight(g, node, slot);
    return Float32Array.from(t.data as ArrayLike<number>);
  }
  const q = t.quant?.[0];
  const data = value!.data;
  if (q && !(data instanceof Float32Array)) return Float32Array.from(data, (x) => (x - q.zeroPoint) * q.scale);
  return Float32Array.from(data as ArrayLike<number>);
}

/** Every node's inputs then outputs, in execution order, on one sample. */
function observe(g: Graph, inputs: RT[], origin: boolean): Info[] {
  const values = new Map<number, RT>(g.inputs.map((id, k) => [id, inputs[k]]));
  const infos: Info[] = [];
  run(g, inputs, { observe: (id, v) => values.set(id, v) });
  for (const node of g.nodes) {
    if (origin && node.op === 'QuantDTypeCast') continue;
    node.inputs.forEach((id, slot) => {
      if (id < 0) return;
      const t = g.tensors[id];
      infos.push({ node: node.name, op: node.op, tensor: t.name, output: false, index: slot, origin, weight: g.isConst(id), values: observedValues(g, node, slot, t, values.get(id), true) });
    });
    node.outputs.forEach((id, slot) => {
      const t = g.tensors[id];
      infos.push({ node: node.name, op: node.op, tensor: t.name, output: true, index: slot, origin, weight: false, values: observedValues(g, node, slot, t, values.get(id), false) });
    });
  }
  return infos;
}

function quantParamCsv(g: Graph): string {
  const lines = ['NodeName,NodeType,TensorName,ElementsNum,Dims,Scale,ZeroPoint,Bits,CorrectionVar,CorrectionMean,'];
  for (const node of g.nodes)
    for (const id of [...node.inputs.filter((i) => i >= 0), ...node.outputs]) {
      const t = g.tensors[id];
      for (const p of t.quant ?? [])
        lines.push([node.name, node.op, t.name, sizeOf(t.shape), `${t.shape.map((d) => `${d} `).join('')}`, cppFloat(p.scale), p.zeroPoint, p.numBits ?? 8,
          cppFloat(p.varCorr ?? 1), cppFloat(p.meanCorr ?? 0)].join(',') + ',');
    }
  return `${lines.join('\n')}\n`;
}

/** Writes the debug CSVs into `dir` (which must exist); returns the files written. */
export function writeDebugInfo(dir: string, float: Graph, quant: Graph, samples: SampleSource): string[] {
  const files: string[] = [];
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    files.push(file);
  };
  write('quant_param.csv', quantParamCsv(quant));
  const outputNames = float.outputs.map((id) => float.tensors[id].name);
  const summary = ['Round,TensorName,CosineSimilarity,'];
  for (let round = 0; round < samples.count; round++) {
    const x = samples.get(round);
    const inputs = (g: Graph) => g.inputs.map((_, k) => ({ shape: sampleShape(g, k, x[k].length), data: x[k] }));
    const origin = new Map(observe(float, inputs(float), true).map((i) => [key(i), i]));
    const compared = observe(quant, inputs(quant), false);
    const rows = [',NodeName,NodeType,TensorName,InOutFlag,DataTypeFlag,TensorTypeFlag,Min,Q1,Median,Q3,Max,Mean,Var,Sparsity,Clip,CosineSimilarity,'];
    let n = 0;
    for (const c of compared) {
      const o = origin.get(key(c));
      if (o && o.values.length === c.values.length) {
        c.cosine = cosine(o.values, c.values);
        c.clip = clipRate(o.values, c.values);
        rows.push(`${n++},${statsRow(o)}`);
      }
      rows.push(`${n++},${statsRow(c)}`);
    }
    write(`round_${round}.csv`, `${rows.join('\n')}\n`);
    const floatOut = run(float, inputs(float)), quantOut = run(quant, inputs(quant));
    outputNames.forEach((name, k) => {
      const q = quant.tensors[quant.outputs[k]].quant?.[0], d = quantOut[k].data;
      const values = q && !(d instanceof Float32Array) ? Float32Array.from(d, (v) => (v - q.zeroPoint) * q.scale) : d;
      summary.push(`${round},${name},${cppFloat(cosine(floatOut[k].data, values))},`);
    });
  }
  write('output_summary.csv', `${summary.join('\n')}\n`);
  return files;
}
