/** FSE weight storage (MindSpore's fse_encoder / runtime decoder) and mixed-bit weight quantization (bit_num=0). */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fseEncode, fseDecode } from '../src/ir/fse.js';
import { loadModel, Fmk } from '../src/convert.js';
import { readMs } from '../src/ir/import/ms.js';
import { run } from '../src/cpu/executor.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { storedIntegers } from '../src/quant/dequant.js';
import { model, readBytes, photo, PHOTOS, argmax } from './helpers/data.js';
import { cli } from './helpers/cli.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('FSE coding', () => {
  it('golden bytes of [1, 1, 2], worked by hand', () => {
    // Symbols: value 1 (count 2) and value 2 (count 1). Table log = CountBits(2) + 1 + 3 = 5 (32 states);
    // normalised counts floor(0.5 + 32/3 * c) = 21 and 11. Spread step 23 puts symbol 0 at states
    // 0,23,14,5,28,19,10,1,24,15,6,29,20,11,2,25,16,7,30,21,12 and symbol 1 at 3,26,17,8,31,22,13,4,27,18,9.
    // Coding table (32 + state, by symbol then ascending state): symbol 0 -> 32,33,34,37,..; symbol 1 -> 35,36,40,41,..
    // Symbol 0: 1 bit out from state 42 up (delta 65536 - 42), delta state -21; symbol 1: 2 bits from 44 (delta
    // 131072 - 44), delta state 10. Start 32 -> (value 1, no bits) coding[32 - 21] = 48; then value 1: 1 bit of
    // 48 ("0"), coding[24 - 21] = 37; value 1: no bits, coding[37 - 21] = 56; value 2: 2 bits of 56 ("00"),
    // coding[14 + 10] = 41; final state 41 - 32 = 9 in 5 bits ("01001"). 8 bits "00001001" = 0x09, left-aligned.
    const bytes = fseEncode([1, 1, 2], { kind: 'int' });
    expect(hex(bytes)).toBe(['0200', '0500', '01000000', '15000000', '0b000000', '01000000', '02000000', '0000000000000009', '08'].join(''));
    expect(Array.from(fseDecode(bytes, 3, 'int'))).toEqual([1, 1, 2]);
    // float centroids: the same stream, the centroid table holds the float values instead
    const floats = fseEncode([1, 1, 2], { kind: 'float', of: (v) => v * 0.5 });
    expect(Array.from(fseDecode(floats, 3, 'float'))).toEqual([0.5, 0.5, 1]);
  });

  it('round-trips every 8-bit weight of every shared model, and random tensors of every size', () => {
    const models: [string, Fmk][] = [['onnx/mnist-8.onnx', 'ONNX'], ['onnx/squeezenet1.1-fp32.onnx', 'ONNX'], ['onnx/ultraface-rfb-320.onnx', 'ONNX'],
      ['tflite/resnet8-cifar10-float.tflite', 'TFLITE'], ['tflite/vww-mobilenetv1-0.25-96-float.tflite', 'TFLITE'], ['tflite/kws-dscnn-hybrid.tflite', 'TFLITE'],
      ['tflite/ad01-autoencoder-float.tflite', 'TFLITE'], ['corpus/deeplabv3-mnv2.onnx', 'ONNX'], ['corpus/yunet-120x160.onnx', 'ONNX'], ['corpus/mp-hand-landmark-lite.tflite', 'TFLITE']];
    let tensors = 0;
    for (const [file, fmk] of models) {
      const g = loadModel(readBytes(model(file)), fmk, file);
      weightQuantize(g, { bitNum: 8, minQuantWeightSize: 0, minQuantWeightChannel: 0, biasCorrection: false });
      for (const t of g.tensors) {
        if (t.dtype !== 'int8' || !t.quant) continue;
        const q = storedIntegers(t);
        expect(Array.from(fseDecode(fseEncode(q, { kind: 'int' }), q.length, 'int')), `${file} ${t.name}`).toEqual(Array.from(q));
        tensors++;
      }
    }
    expect(tensors).toBeGreaterThan(150);
    let seed = 3;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const n of [1, 2, 5, 100, 5000, 20_000]) for (const spread of [1, 5, 255, 1000]) {
      const v = Int32Array.from({ length: n }, () => Math.round((rnd() + rnd() - 1) * spread));
      expect(Array.from(fseDecode(fseEncode(v, { kind: 'int' }), n, 'int'))).toEqual(Array.from(v));
    }
  }, 120_000);

  it('refuses 4,096+ distinct values (MindSpore\'s 16-bit tables overflow) and corrupt buffers with one line', () => {
    expect(() => fseEncode(Int32Array.from({ length: 5000 }, (_, i) => i), { kind: 'int' })).toThrow(/5000 distinct values need a 2\^16 table/);
    const good = fseEncode([3, 1, 4, 1, 5, 9, 2, 6], { kind: 'int' });
    expect(() => fseDecode(good.slice(0, 12), 8, 'int')).toThrow(/FSE weight data: .* bytes end before offset/);
    const badTable = good.slice();
    badTable[8] ^= 0xff;
    expect(() => fseDecode(badTable, 8, 'int')).toThrow(/FSE weight data: the frequencies do not sum to the table size/);
  });
});

describe('mixed-bit weight quantization (bit_num=0)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'webptq-mixed-'));
  const convert = (cfg: string, file = 'onnx/squeezenet1.1-fp32.onnx') => {
    const c = path.join(dir, `${Math.random().toString(36).slice(2)}.cfg`);
    writeFileSync(c, cfg);
    const out = path.join(dir, Math.random().toString(36).slice(2));
    return { ...cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model(file)}`, `--outputFile=${out}`, `--configFile=${c}`]), out };
  };
  it('SqueezeNet with the default init_scale: <= 0.20x the float .ms, FSE weights the runtime decodes to float, top-1 kept', () => {
    const r = convert('[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=0\n');
    expect(r.code, r.stderr).toBe(0);
    const ratio = Number(r.stdout.match(/\(([\d.]+)x\)/)![1]);
    console.log(`SqueezeNet mixed-bit: ${ratio}x of the float .ms`);
    expect(ratio).toBeLessThanOrEqual(0.2);
    const g = readMs(new Uint8Array(readFileSync(`${r.out}.ms`)));
    const fse = g.tensors.filter((t) => t.compress === 3);
    expect(fse.length).toBeGreaterThan(20);
    for (const t of fse) expect([t.dtype, t.quant![0].numBits, t.quant![0].zeroPoint, t.data instanceof Float32Array]).toEqual(['float32', 0, 0, true]);
    const float = loadModel(readBytes(model('onnx/squeezenet1.1-fp32.onnx')), 'ONNX', 'sq');
    let same = 0;
    for (const p of PHOTOS) {
      const x = photo(p, 224, 224, { channels: 'BGR' });
      if (argmax(run(g, [{ shape: [1, 224, 224, 3], data: x }])[0].data) === argmax(run(float, [{ shape: [1, 224, 224, 3], data: x }])[0].data)) same++;
    }
    console.log(`SqueezeNet mixed-bit: top-1 = float on ${same}/17 photos`);
    expect(same).toBeGreaterThanOrEqual(16);
  }, 120_000);
  it('checks init_scale, max_iterations and enable_encode; enable_encode=false stores 8-bit weights plain', () => {
    const initScale = convert('[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=0\n[mixed_bit_weight_quant_param]\ninit_scale=1.5\n', 'onnx/mnist-8.onnx');
    expect([initScale.code, initScale.stderr]).toEqual([1, expect.stringMatching(/init_scale should be in \(0, 1\), got "1.5"/)]);
    const iters = convert('[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=0\n[mixed_bit_weight_quant_param]\nmax_iterations=10\n', 'onnx/mnist-8.onnx');
    expect(iters.code).toBe(1);
    expect(iters.stderr).toMatch(/max_iterations/);
    const encode4 = convert('[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=4\nenable_encode=false\n', 'onnx/mnist-8.onnx');
    expect(encode4.stderr).toMatch(/enable_encode must be true when bit_num is in \[0,7\] or \[9,15\]/);
    const plain = convert('[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=8\nmin_quant_weight_channel=0\nenable_encode=false\n', 'onnx/mnist-8.onnx');
    expect(plain.code).toBe(0);
    const g = readMs(new Uint8Array(readFileSync(`${plain.out}.ms`)));
    const weights = g.tensors.filter((t) => t.dtype === 'int8' && t.quant);
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.every((t) => !t.compress)).toBe(true);
  });
});
