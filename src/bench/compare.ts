/**
 * Per-layer comparison of two models on the same inputs: for every tensor name both produce, cosine
 * similarity, SQNR (dB) and max |error| of `model` against `reference`, worst first.
 */
import type { Graph } from '../ir/graph.js';
import { run } from '../cpu/executor.js';
import type { RT } from '../ir/tensor.js';
import { cosineSimilarity } from './accuracy.js';

export interface LayerDiff {
  tensor: string;
  op: string;
  cosine: number;
  sqnrDb: number;
  maxAbsError: number;
}

function activations(g: Graph, inputs: RT[]): Map<string, { value: RT; op: string }> {
  const m = new Map<string, { value: RT; op: string }>();
  run(g, inputs, { observe: (id, value, node) => m.set(g.tensors[id].name, { value, op: node.op }) });
  return m;
}

export function sqnrDb(ref: ArrayLike<number>, x: ArrayLike<number>): number {
  let s = 0, e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i];
    e += (ref[i] - x[i]) ** 2;
  }
  if (e === 0) return Infinity;
  return 10 * Math.log10(s / e);
}

export function compareLayers(model: Graph, reference: Graph, inputs: RT[]): LayerDiff[] {
  const a = activations(model, inputs), b = activations(reference, inputs);
  const rows: LayerDiff[] = [];
  for (const [name, { value, op }] of a) {
    const r = b.get(name);
    if (!r || r.value.data.length !== value.data.length) continue;
    let maxAbs = 0;
    for (let i = 0; i < value.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(value.data[i] - r.value.data[i]));
    rows.push({ tensor: name, op, cosine: cosineSimilarity(value.data, r.value.data), sqnrDb: sqnrDb(r.value.data, value.data), maxAbsError: maxAbs });
  }
  return rows.sort((x, y) => x.cosine - y.cosine || x.sqnrDb - y.sqnrDb);
}

export function formatLayerTable(rows: LayerDiff[]): string {
  const w = Math.min(60, Math.max(6, ...rows.map((r) => r.tensor.length)));
  const lines = [`${'tensor'.padEnd(w)}  ${'op'.padEnd(16)}  ${'cosine'.padStart(10)}  ${'SQNR dB'.padStart(9)}  ${'max|err|'.padStart(11)}`];
  for (const r of rows)
    lines.push(`${r.tensor.slice(-w).padEnd(w)}  ${r.op.padEnd(16)}  ${r.cosine.toFixed(6).padStart(10)}  ${(Number.isFinite(r.sqnrDb) ? r.sqnrDb.toFixed(2) : 'inf').padStart(9)}  ${r.maxAbsError.toExponential(3).padStart(11)}`);
  return `${lines.join('\n')}\n`;
}

export function layerCsv(rows: LayerDiff[]): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `tensor,op,cosine,sqnr_db,max_abs_error\n${rows.map((r) => `${q(r.tensor)},${r.op},${r.cosine},${r.sqnrDb},${r.maxAbsError}`).join('\n')}\n`;
}
