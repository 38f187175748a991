/**
 * The int8 executor's route through MindSpore's float islands (cpu/int8-islands): a float Concat / MaxPool tree
 * between int8 layers runs on int8 values mapped once through Q(D(q)). It must give the bytes the float route
 * (dequantize, float op, quantize) gives, on the model where it matters and on hand-made graphs that reach its
 * corners (a concat along a spatial axis that a max pool then crosses, RELU6 clamps, two input parameters).
 */
import { describe, it, expect } from 'vitest';
import { Graph } from '../src/ir/graph.js';
import type { RT } from '../src/ir/tensor.js';
import { run } from '../src/cpu/executor.js';
import { int8Islands } from '../src/cpu/int8-islands.js';
import { loadModel } from '../src/convert.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { statisticsCollector } from '../src/calibrate.js';
import { TypeId } from '../src/ir/schema/ops.js';
import { model, readBytes, photo, PHOTOS } from './helpers/data.js';

const bytes = (v: RT) => Array.from(v.data);
const randomInt8 = (n: number, seed: number) => {
  let s = seed;
  return Int8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) % 256) - 128);
};

/** int8 a [1,5,4,3], b [1,3,4,3] -> dequantize each -> Concat along H -> MaxPool 3x3 stride 2 pad 1 (activation) -> quantize. */
function handMade(activation: number, outScale: number, outZp: number, extraReader = false): Graph {
  const g = new Graph();
  const q = (scale: number, zeroPoint: number) => [{ scale, zeroPoint }];
  const a = g.addTensor({ name: 'a', shape: [1, 5, 4, 3], dtype: 'int8', quant: q(0.05, -7) });
  const b = g.addTensor({ name: 'b', shape: [1, 3, 4, 3], dtype: 'int8', quant: q(0.021, 11) });
  const af = g.addTensor({ name: 'af', shape: [1, 5, 4, 3], quant: q(0.05, -7) });
  const bf = g.addTensor({ name: 'bf', shape: [1, 3, 4, 3], quant: q(0.021, 11) });
  const cat = g.addTensor({ name: 'cat', shape: [1, 8, 4, 3] });
  const pooled = g.addTensor({ name: 'pooled', shape: [1, 4, 2, 3] });
  const y = g.addTensor({ name: 'y', shape: [1, 4, 2, 3], dtype: 'int8', quant: q(outScale, outZp) });
  const toFloat = { src_t: TypeId.int8, dst_t: TypeId.float32 };
  g.addNode({ name: 'da', op: 'QuantDTypeCast', inputs: [a], outputs: [af], attrs: toFloat });
  g.addNode({ name: 'db', op: 'QuantDTypeCast', inputs: [b], outputs: [bf], attrs: toFloat });
  g.addNode({ name: 'cat', op: 'Concat', inputs: [af, bf], outputs: [cat], attrs: { axis: 1 } });
  g.addNode({ name: 'pool', op: 'MaxPoolFusion', inputs: [cat], outputs: [pooled],
    attrs: { kernel_size: [3, 3], strides: [2, 2], pad: [1, 1, 1, 1], round_mode: 0, activation_type: activation, format: 1 } });
  g.addNode({ name: 'q', op: 'QuantDTypeCast', inputs: [pooled], outputs: [y], attrs: { src_t: TypeId.float32, dst_t: TypeId.int8 } });
  g.inputs = [a, b];
  g.outputs = extraReader ? [y, cat] : [y];
  return g;
}

describe('int8 islands', () => {
  for (const [name, act, scale, zp] of [['no activation', 0, 0.04, 5], ['RELU (Q(0) = 60 clamps)', 1, 0.03, 60], ['RELU6 (Q(6) = 100 clamps)', 3, 0.06, 0]] as const)
    it(`a concat along H crossed by a padded max pool, ${name}: the bytes of the float route`, () => {
      const g = handMade(act, scale, zp);
      expect(int8Islands(g).map((is) => is.replaces.length)).toEqual([4]);
      for (let seed = 1; seed <= 5; seed++) {
        const inputs: RT[] = [{ shape: [1, 5, 4, 3], data: randomInt8(60, seed) }, { shape: [1, 3, 4, 3], data: randomInt8(36, seed + 50) }];
        expect(bytes(run(g, inputs)[0])).toEqual(bytes(run(g, inputs, { int8Islands: false })[0]));
      }
    });

  it('is not taken where a float tensor inside is read elsewhere (here a graph output)', () => {
    expect(int8Islands(handMade(0, 0.04, 5, true))).toEqual([]);
  });

  it('PostTraining SqueezeNet: every fire module\'s Concat (and MaxPool) is an island, and the outputs are the float route\'s bytes', async () => {
    const file = 'onnx/squeezenet1.1-fp32.onnx';
    const g = loadModel(readBytes(model(file)), 'ONNX', file);
    const calib = PHOTOS.slice(0, 2).map((p) => [photo(p, 224, 224, { channels: 'BGR' })]);
    await fullQuantize(g, { count: 2, get: (i) => calib[i] }, { method: 'MAX_MIN', biasCorrection: false, collect: statisticsCollector({ device: 'cpu' }), reportSamples: 1 });
    const islands = int8Islands(g);
    expect(islands.length).toBe(9);
    expect(islands.flatMap((is) => is.replaces.map((i) => g.nodes[i].op)).filter((op) => op !== 'QuantDTypeCast').sort())
      .toEqual([...Array(8).fill('Concat'), ...Array(3).fill('MaxPoolFusion')].sort());
    for (const p of PHOTOS.slice(2, 6)) {
      const feed = [{ shape: [1, 224, 224, 3], data: photo(p, 224, 224, { channels: 'BGR' }) }];
      expect(bytes(run(g, feed)[0])).toEqual(bytes(run(g, feed, { int8Islands: false })[0]));
    }
  });
});
