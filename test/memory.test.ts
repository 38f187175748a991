/**
 * Memory stays bounded by a batch, whatever the calibration set's size: converter_lite PostTraining of mnist-8
 * on 10,000 .bin samples peaks within 10 % of the same run on 100 (peak RSS of the whole process), on the CPU
 * path and, where an adapter exists (SwiftShader in CI), on the GPU path.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mnistDigits, ROOT } from './helpers/data.js';
import { acquireGpu } from '../src/gpu/device.js';
import { toolArgv } from './helpers/cli.js';

let dir: string;
const MNIST = path.join(ROOT, 'examples/mnist-8.onnx');

/** The converter's peak RSS (MiB) and exit code for a calibration of `count` samples. */
function peakRss(count: number, device: 'cpu' | 'gpu'): Promise<{ code: number | null; mib: number; stderr: string }> {
  writeFileSync(path.join(dir, `${count}.cfg`), `image_path=digits\nbatch_count=${count}\nmethod_x=MAX_MIN\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', path.join(dir, 'rss.mjs'), ...toolArgv('converter_lite'), '--fmk=ONNX', `--modelFile=${MNIST}`,
      `--outputFile=m${count}${device}`, '--quantType=PostTraining', `--configFile=${count}.cfg`, `--device=${device}`, '--quiet'], { cwd: dir, timeout: 290_000 });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    child.on('close', (code) => resolve({ code, mib: Number(/@@maxrss=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024, stderr }));
  });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'webptq-memory-'));
  writeFileSync(path.join(dir, 'rss.mjs'), "process.on('exit', () => process.stderr.write(`\\n@@maxrss=${process.resourceUsage().maxRSS}\\n`));\n");
  const digits = path.join(dir, 'digits');
  mkdirSync(digits);
  // 10,000 samples: the 2,000 real digits five times over (the sets are read file by file)
  const real = mnistDigits(2000);
  for (let i = 0; i < 10_000; i++) writeFileSync(path.join(digits, `${String(i).padStart(5, '0')}.bin`), real[i % 2000].pixels);
});

describe('calibration memory is bounded by a batch', () => {
  for (const device of ['cpu', 'gpu'] as const)
    it(`${device.toUpperCase()} path: peak RSS over 10,000 samples within 10 % of 100 samples`, async (t) => {
      if (device === 'gpu') {
        const gpu = await acquireGpu();
        if (!gpu) return t.skip();
        gpu.release();
      }
      const small = await peakRss(100, device), large = await peakRss(10_000, device);
      expect(small.code, small.stderr).toBe(0);
      expect(large.code, large.stderr).toBe(0);
      console.log(`${device}: peak RSS ${small.mib.toFixed(1)} MiB for 100 samples, ${large.mib.toFixed(1)} MiB for 10,000 (${((large.mib / small.mib - 1) * 100).toFixed(1)} %)`);
      expect(large.mib).toBeLessThanOrEqual(small.mib * 1.1);
    }, 600_000);
});
