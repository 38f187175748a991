/** converter_lite as a user runs it: success, and one clear line plus exit code 1 for every bad input. */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli } from './helpers/cli.js';
import { model, readBytes } from './helpers/data.js';
import { buildOnnx } from './helpers/onnx-builder.js';
import { readMs } from '../src/ir/import/ms.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'webptq-cli-'));
});

/** One line on stderr, no stack trace, exit code 1, and no output file. */
function expectCleanFailure(r: { code: number; stderr: string }, pattern: RegExp, out?: string) {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  if (out) {
    expect(existsSync(`${out}.ms`)).toBe(false);
    expect(readdirSync(path.dirname(out)).filter((f) => f.includes('.tmp'))).toEqual([]);
  }
}

describe('converter_lite', () => {
  it('converts mnist-8 and appends .ms to the output name', () => {
    const out = path.join(dir, 'mnist');
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${out}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CONVERT RESULT SUCCESS:0');
    const g = readMs(new Uint8Array(readFileSync(`${out}.ms`)));
    expect(g.fmkType).toBe(2);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('keeps NCHW inputs with --inputDataFormat=NCHW (a Transpose stays first)', () => {
    const out = path.join(dir, 'mnist_nchw');
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${model('onnx/mnist-8.onnx')}`, `--outputFile=${out}`, '--inputDataFormat=NCHW']);
    expect(r.code).toBe(0);
    const g = readMs(new Uint8Array(readFileSync(`${out}.ms`)));
    expect(g.tensors[g.inputs[0]].shape).toEqual([1, 1, 28, 28]);
    expect(g.nodes[0].op).toBe('Transpose');
  });

  it('keeps dynamic dims as -1 without --inputShape and resolves them with it', () => {
    const onnx = path.join(dir, 'dyn.onnx');
    writeFileSync(onnx, buildOnnx({
      inputs: [{ name: 'x', dims: [-1, 4] }], outputs: ['y'],
      inits: [{ name: 'w', dims: [4, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    }));
    const out = path.join(dir, 'dyn');
    expect(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${onnx}`, `--outputFile=${out}`]).code).toBe(0);
    const dyn = readMs(new Uint8Array(readFileSync(`${out}.ms`)));
    expect(dyn.tensors[dyn.inputs[0]].shape).toEqual([-1, 4]);
    const x = path.join(dir, 'dyn-x.bin');
    writeFileSync(x, Float32Array.from([1, 0, 0, 0, 0, 0, 0, 1]));
    const run2 = cli('benchmark', [`--modelFile=${out}.ms`, `--inDataFile=${x}`, '--inputShapes=2,4', '--loopCount=1', '--warmUpLoopCount=0']);
    expect(run2.code, run2.stderr).toBe(0);
    expect(run2.stdout).toMatch(/Data of node y : 1 2 7 8\n/);
    const ok = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${onnx}`, `--outputFile=${out}`, '--inputShape=x:3,4']);
    expect(ok.code).toBe(0);
    const g = readMs(new Uint8Array(readFileSync(`${out}.ms`)));
    expect(g.tensors[g.inputs[0]].shape).toEqual([3, 4]);
    expectCleanFailure(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${onnx}`, `--outputFile=${out}2`, '--inputShape=x:3,a']), /--inputShape: expected name:d0,d1/, `${out}2`);
  });

  const mnist = model('onnx/mnist-8.onnx');
  const cases: [string, string[], RegExp][] = [
    ['no --fmk', [`--modelFile=${mnist}`, '--outputFile=X'], /^INPUT MISSING: fmk is necessary$/m],
    ['an unknown --fmk', ['--fmk=KERAS', `--modelFile=${mnist}`, '--outputFile=X'], /^INPUT ILLEGAL: fmk must be TF\|TFLITE\|CAFFE\|MINDIR\|ONNX$/m],
    ['no --modelFile', ['--fmk=ONNX', '--outputFile=X'], /^INPUT MISSING: model file path is necessary$/m],
    ['no --outputFile', ['--fmk=ONNX', `--modelFile=${mnist}`], /^INPUT MISSING: output file path is necessary$/m],
    ['a missing model file', ['--fmk=ONNX', '--modelFile=/no/such/model.onnx', '--outputFile=X'], /model file \/no\/such\/model.onnx does not exist/],
    ['a TFLite file given as ONNX', ['--fmk=ONNX', `--modelFile=${model('tflite/resnet8-cifar10-float.tflite')}`, '--outputFile=X'], /not a valid ONNX model/],
    ['an ONNX file given as TFLITE', ['--fmk=TFLITE', `--modelFile=${mnist}`, '--outputFile=X'], /not a TFLite model/],
    ['an ONNX file given as MSLITE', ['--fmk=MSLITE', `--modelFile=${mnist}`, '--outputFile=X'], /not a MindSpore Lite .ms model/],
    ['a bad --inputDataFormat', ['--fmk=ONNX', `--modelFile=${mnist}`, '--outputFile=X', '--inputDataFormat=NC'], /INPUT ILLEGAL: inputDataFormat must be NHWC\|NCHW/],
    ['a bad --quantType', ['--fmk=ONNX', `--modelFile=${mnist}`, '--outputFile=X', '--quantType=Dynamic'], /^INPUT ILLEGAL: quantType must be WeightQuant\|PostTraining$/m],
    ['a Caffe prototxt without its weights', ['--fmk=CAFFE', `--modelFile=${mnist}`, '--outputFile=X'], /mnist-8\.onnx: a Caffe model needs its weights: --weightFile=<net>\.caffemodel/],
  ];
  for (const [what, args, msg] of cases) {
    it(`fails cleanly on ${what}`, () => {
      const out = path.join(dir, `case_${what.replace(/\W+/g, '_')}`);
      expectCleanFailure(cli('converter_lite', args.map((a) => a.replace('--outputFile=X', `--outputFile=${out}`))), msg, out);
    });
  }

  it('fails cleanly on truncated and corrupt model files of every format', () => {
    const files: [string, string, number][] = [
      ['onnx/mnist-8.onnx', 'ONNX', 0.5], ['onnx/squeezenet1.1-fp32.onnx', 'ONNX', 0.9], ['tflite/resnet8-cifar10-float.tflite', 'TFLITE', 0.5],
      ['tflite/ad01-autoencoder-float.tflite', 'TFLITE', 0.05], ['ms/ml_face_isface.ms', 'MSLITE', 0.5], ['mindir/relu.mindir', 'MINDIR', 0.5],
    ];
    for (const [f, fmk, keep] of files) {
      const bytes = readBytes(model(f));
      const cut = path.join(dir, `cut_${path.basename(f)}`);
      writeFileSync(cut, bytes.slice(0, Math.floor(bytes.length * keep)));
      const out = path.join(dir, `cut_${fmk}`);
      expectCleanFailure(cli('converter_lite', [`--fmk=${fmk}`, `--modelFile=${cut}`, `--outputFile=${out}`]), /corrupt|truncated|not a valid|not a |values for/, out);
    }
    const junk = path.join(dir, 'junk.bin');
    writeFileSync(junk, Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
    for (const fmk of ['ONNX', 'TFLITE', 'MSLITE', 'MINDIR'])
      expectCleanFailure(cli('converter_lite', [`--fmk=${fmk}`, `--modelFile=${junk}`, `--outputFile=${path.join(dir, 'junk')}`]), /not a|corrupt|truncated/, path.join(dir, 'junk'));
  });

  it('names an unsupported op, its node and the supported list', () => {
    const onnx = path.join(dir, 'det.onnx');
    writeFileSync(onnx, buildOnnx({ inputs: [{ name: 'x', dims: [2, 2] }], outputs: ['y'], inits: [], nodes: [{ op: 'Det', inputs: ['x'], outputs: ['y'] }] }));
    const out = path.join(dir, 'det');
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${onnx}`, `--outputFile=${out}`]);
    expectCleanFailure(r, /unsupported ONNX op Det \(node Det_0\)\. Supported ops: .*Conv.*Softmax/, out);
  });

  it('fails cleanly on an unwritable output path and leaves nothing behind', () => {
    const out = path.join(dir, 'no-such-dir', 'mnist');
    expectCleanFailure(cli('converter_lite', ['--fmk=ONNX', `--modelFile=${mnist}`, `--outputFile=${out}`]), /cannot write output file .*no-such-dir\/mnist\.ms/);
    expect(existsSync(path.join(dir, 'no-such-dir'))).toBe(false);
  });

  it('prints help', () => {
    const r = cli('converter_lite', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--fmk <fmk>[\s\S]*--modelFile[\s\S]*--outputFile[\s\S]*\.ms is appended/);
  });
});
