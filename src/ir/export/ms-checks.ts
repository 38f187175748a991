/**
 * The load checks MindSpore Lite's runtime applies to a model (lite_model.cc / lite_session.cc, facts 1.10),
 * run on a decoded .ms. Returns the list of violations; empty means the runtime's checks hold.
 */
import type { Graph } from '../graph.js';
import { sizeOf, bytesPerElement } from '../graph.js';
import { mislabelledNhwcInputs } from '../formats.js';

export function msLoadViolations(g: Graph): string[] {
  const v: string[] = [];
  const n = g.tensors.length;
  if (!g.inputs.length || !g.outputs.length) v.push('graph inputs and outputs must be non-empty');
  for (const i of [...g.inputs, ...g.outputs]) if (i < 0 || i >= n) v.push(`index ${i} out of range`);
  if (g.inputs.join() === g.outputs.join()) v.push('inputIndex equals outputIndex');
  const produced = new Map<number, string>();
  for (const node of g.nodes) {
    if (new Set(node.outputs).size !== node.outputs.length) v.push(`node ${node.name}: output indices not unique`);
    for (const o of node.outputs) {
      if (produced.has(o)) v.push(`tensor ${g.tensors[o].name} produced twice`);
      produced.set(o, node.name);
      if (g.tensors[o].data || g.tensors[o].raw) v.push(`node ${node.name}: output ${g.tensors[o].name} is a constant with data`);
    }
  }
  for (const i of g.inputs) {
    if (produced.has(i)) v.push(`graph input ${g.tensors[i].name} is produced by a node`);
    if (g.tensors[i].data) v.push(`graph input ${g.tensors[i].name} has data`);
    const t = g.tensors[i];
    if (!['float32', 'float16', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool'].includes(t.dtype)) v.push(`graph input ${t.name} has a non-number type`);
  }
  for (const o of g.outputs) {
    if (g.inputs.includes(o)) continue;
    const hasData = !!(g.tensors[o].data || g.tensors[o].raw);
    if (produced.has(o) === hasData) v.push(`graph output ${g.tensors[o].name}: ${hasData ? 'produced and has data' : 'not produced and has no data'}`);
  }
  g.tensors.forEach((t) => {
    if (t.format < 0 || t.format > 18) v.push(`tensor ${t.name}: format ${t.format} out of 0..18`);
    const isConst = !!(t.data || t.raw);
    if (t.shape.some((d) => d < -1 || (isConst && d <= 0 && t.shape.length > 0))) v.push(`tensor ${t.name}: bad dims [${t.shape}]`);
    if (isConst && !t.compress && !(t.quant && t.quant.length && (t.quant[0].numBits ?? 8) % 8 !== 0)) {
      const bytes = t.raw ? t.raw.length : t.data!.byteLength;
      if (bytes < sizeOf(t.shape) * bytesPerElement[t.dtype]) v.push(`tensor ${t.name}: ${bytes} data bytes for dims [${t.shape}]`);
    }
  });
  for (const node of g.nodes) for (const i of [...node.inputs, ...node.outputs]) if (i < 0 || i >= n) v.push(`node ${node.name}: index ${i} out of range`);
  if (!v.length) v.push(...mislabelledNhwcInputs(g));
  return v;
}
