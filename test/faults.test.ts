/**
 * Faults and bad input around a conversion, each as a user meets it: one clear line naming the file or flag,
 * a non-zero exit, and nothing half-written — a signal during calibration or writing, a full disk, an output
 * directory that cannot be written, calibration files that change under a running conversion, non-finite
 * calibration data, bad --numThreads; and two conversions at once in one process sharing nothing.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, existsSync, readFileSync, rmSync, truncateSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel } from '../src/convert.js';
import { fullQuantize } from '../src/quant/full-quant.js';
import { calibrationSource } from '../src/quant/calib-data.js';
import { collectStatistics } from '../src/calibrate.js';
import { vulkanLoaderPresent, gpuDeviceNodePresent } from '../src/gpu/device.js';
import { writeMs } from '../src/ir/export/ms.js';
import { readBytes, mnistDigits, ROOT, model } from './helpers/data.js';
import { cli, toolArgv } from './helpers/cli.js';

const MNIST = path.join(ROOT, 'examples/mnist-8.onnx');
let dir: string;

/** `count` real digits as .bin calibration files in `where`. */
function digits(where: string, count: number): void {
  mkdirSync(where, { recursive: true });
  mnistDigits(count).forEach((d, i) => writeFileSync(path.join(where, `d${String(i).padStart(5, '0')}.bin`), d.pixels));
}

/** The converter as a child process; `onStderr` sees its stderr as it comes (to signal it at the right moment). */
function convert(args: string[], env: Record<string, string> = {}, onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [...toolArgv('converter_lite'), ...args], { cwd: dir, env: { ...process.env, ...env }, timeout: 240_000 });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const leftovers = (where: string) => readdirSync(where).filter((f) => f.endsWith('.ms') || f.endsWith('.tmp'));

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'webptq-faults-'));
  digits(path.join(dir, 'many'), 3000);
  writeFileSync(path.join(dir, 'many.cfg'), 'image_path=many\nbatch_count=3000\nmethod_x=KL\nbias_correction=true\n');
});

describe('signals', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const)
    it(`${signal} during calibration: exit ${code}, one line, no .ms and no temporary file`, async () => {
      const out = path.join(dir, `sig-${signal}`);
      mkdirSync(out);
      let sent = false;
      const r = await convert(['--fmk=ONNX', `--modelFile=${MNIST}`, `--outputFile=${out}/m`, '--quantType=PostTraining', '--configFile=many.cfg', '--device=cpu'], {},
        (text, child) => {
          if (!sent && /calibration \w+: batch/.test(text)) {
            sent = true;
            child.kill(signal);
          }
        });
      expect(sent).toBe(true);
      expect(r.code).toBe(code);
      expect(r.stderr.trim().split('\n').pop()).toBe(`interrupted by ${signal}: no output written`);
      expect(leftovers(out)).toEqual([]);
    });

  it('SIGINT while the .ms is being written (a slow disk): the finished file is removed, no temporary file left', async () => {
    const out = path.join(dir, 'sig-write');
    mkdirSync(out);
    // the write shim takes 2 s over the temporary file and says so on stderr
    const r = await convert(['--fmk=ONNX', `--modelFile=${MNIST}`, `--outputFile=${out}/m`], { NODE_OPTIONS: `--import=${path.join(ROOT, 'test/fixtures/fs-shim.mjs')}`, FS_SHIM: 'slow' },
      (text, child) => text.includes('shim: writing') && !child.killed && child.kill('SIGINT'));
    expect(r.code).toBe(130);
    expect(r.stdout).not.toMatch(/SUCCESS/);
    expect(leftovers(out)).toEqual([]);
  });

  it('a second SIGINT right after the first exits at once', async () => {
    const out = path.join(dir, 'sig-twice');
    mkdirSync(out);
    let sent = false;
    const t0 = performance.now();
    const r = await convert(['--fmk=ONNX', `--modelFile=${MNIST}`, `--outputFile=${out}/m`, '--quantType=PostTraining', '--configFile=many.cfg', '--device=cpu'], {},
      (text, child) => {
        if (!sent && /calibration \w+: batch/.test(text)) {
          sent = true;
          child.kill('SIGINT');
          child.kill('SIGINT');
        }
      });
    expect(r.code).toBe(130);
    expect(performance.now() - t0).toBeLessThan(60_000);
    expect(leftovers(out)).toEqual([]);
  });
});

describe('the output cannot be written', () => {
  it('disk full (ENOSPC half-way through the write): one line, exit 1, no partial file', async () => {
    const out = path.join(dir, 'full');
    mkdirSync(out);
    const r = await convert(['--fmk=ONNX', `--modelFile=${MNIST}`, `--outputFile=${out}/m`], { NODE_OPTIONS: `--import=${path.join(ROOT, 'test/fixtures/fs-shim.mjs')}`, FS_SHIM: 'enospc' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`cannot write output file ${out}/m.ms: ENOSPC`);
    expect(leftovers(out)).toEqual([]);
  });
  it('an output directory that is a file, or where nobody may write (/sys): one line naming it, exit 1', () => {
    writeFileSync(path.join(dir, 'plain'), 'x');
    for (const [target, code] of [[path.join(dir, 'plain/m'), 'ENOTDIR'], ['/sys/webptq-m', 'EACCES']]) {
      const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${MNIST}`, `--outputFile=${target}`]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`cannot write output file ${target}.ms: ${code}`);
    }
    expect(existsSync('/sys/webptq-m.ms')).toBe(false);
  });
});

describe('calibration data that changes or is wrong', () => {
  const g = () => loadModel(readBytes(MNIST), 'ONNX', 'mnist-8.onnx');
  const source = (name: string, count = 6) => {
    const where = path.join(dir, name);
    digits(where, count);
    return { where, src: calibrationSource(g(), { dirs: [where], count, inputType: 'BIN' }) };
  };
  it('a file deleted, truncated or replaced by a directory after the run started is named with the reason', () => {
    const { where, src } = source('changing');
    const files = readdirSync(where).sort().map((f) => path.join(where, f));
    rmSync(files[1]);
    truncateSync(files[2], 100);
    rmSync(files[3]);
    mkdirSync(files[3]);
    expect(() => src.get(0)).not.toThrow();
    expect(() => src.get(1)).toThrow(`calibration file ${files[1]} cannot be read (ENOENT)`);
    expect(() => src.get(2)).toThrow(`Input binary file size error, required: 3136, in fact: 100 (${files[2]})`);
    expect(() => src.get(3)).toThrow(`calibration file ${files[3]} cannot be read (EISDIR)`);
  });
  it('NaN or infinity in a .bin file: the file, the sample and the element are named, and the converter refuses', () => {
    const { where } = source('nan');
    const files = readdirSync(where).sort();
    for (const [k, bad] of [[2, NaN], [4, -Infinity]] as const) {
      const b = readFileSync(path.join(where, files[k]));
      const d = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      d[300 + k] = bad;
      writeFileSync(path.join(where, files[k]), d);
    }
    writeFileSync(path.join(dir, 'nan.cfg'), 'image_path=nan\nbatch_count=6\nmethod_x=MAX_MIN\n');
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${MNIST}`, '--outputFile=nan-out', '--quantType=PostTraining', '--configFile=nan.cfg', '--device=cpu', '--quiet'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`calibration file ${path.join('nan', files[2])} (sample 3, input Input3): element 302 is NaN; calibration data must be finite`);
    expect(existsSync(path.join(dir, 'nan-out.ms'))).toBe(false);
  });
  it('an image that fails to decode in the middle of the set: named, exit 1, no .ms', () => {
    const where = path.join(dir, 'images');
    mkdirSync(where);
    for (const [i, f] of ['face.jpg', 'kimono.jpg', 'parrot.jpg'].entries()) copyFileSync(path.join(ROOT, '../shared/data/imagenet', f), path.join(where, `${i}.jpg`));
    writeFileSync(path.join(where, '1.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]));
    writeFileSync(path.join(dir, 'img.cfg'), '[common_quant_param]\nquant_type=FULL_QUANT\n[data_preprocess_param]\ncalibrate_path=Input3:images\ncalibrate_size=3\ninput_type=IMAGE\nimage_to_format=GRAY\nresize_width=28\nresize_height=28\n');
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${MNIST}`, '--outputFile=img-out', '--configFile=img.cfg', '--device=cpu', '--quiet'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^images/1\\.jpg: cannot decode image \\(.+\\)$`));
    expect(existsSync(path.join(dir, 'img-out.ms'))).toBe(false);
  });
});

describe('--numThreads', () => {
  it('0, negative or not a number: one line, exit 1 (both tools); above the cores: a warning, and the run goes on', () => {
    for (const bad of ['0', '-2', 'abc', '1.5', ''])
      for (const tool of ['converter_lite', 'benchmark'] as const) {
        const args = tool === 'benchmark' ? [`--modelFile=${model('ms/lenet_tod_infer.ms')}`, `--numThreads=${bad}`] : ['--fmk=ONNX', `--modelFile=${MNIST}`, `--outputFile=${dir}/t`, `--numThreads=${bad}`];
        const r = cli(tool, args);
        expect(r.code, `${tool} --numThreads=${bad}`).toBe(1);
        expect(r.stderr.trim()).toBe(`INPUT ILLEGAL: numThreads must be an integer greater than 0, got "${bad}"`);
      }
    const r = cli('converter_lite', ['--fmk=ONNX', `--modelFile=${MNIST}`, `--outputFile=${dir}/many-threads`, '--numThreads=999']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARNING: numThreads 999: this machine's kernel pool has \d+ threads?; using \d+/);
  });
});

describe('two conversions at once in one process', () => {
  it('PostTraining of two models interleaved through the library equals each run alone, byte for byte', async () => {
    const files = ['onnx/mnist-8.onnx', 'tflite/vww-mobilenetv1-0.25-96-float.tflite'] as const;
    const data = [mnistDigits(24).map((d) => [d.pixels]), Array.from({ length: 12 }, (_, i) => [Float32Array.from({ length: 96 * 96 * 3 }, (_, j) => ((i * 7919 + j * 31) % 255) / 127.5 - 1)])];
    const quantize = async (k: number) => {
      const g = loadModel(readBytes(model(files[k])), k ? 'TFLITE' : 'ONNX', files[k]);
      await fullQuantize(g, { count: data[k].length, get: (i) => data[k][i] }, { method: 'KL', biasCorrection: true, batchSize: 4 });
      return writeMs(g, { explicitQuantParams: true });
    };
    const alone = [await quantize(0), await quantize(1)];
    const together = await Promise.all([quantize(0), quantize(1)]);
    expect(Buffer.compare(Buffer.from(together[0]), Buffer.from(alone[0]))).toBe(0);
    expect(Buffer.compare(Buffer.from(together[1]), Buffer.from(alone[1]))).toBe(0);
  });
  it('two collectStatistics on different graphs at once (the GPU where there is one) give what each gives alone', async () => {
    const a = loadModel(readBytes(model('onnx/mnist-8.onnx')), 'ONNX', 'a'), b = loadModel(readBytes(model('tflite/ad01-autoencoder-float.tflite')), 'TFLITE', 'b');
    const sa = mnistDigits(8).map((d) => [d.pixels]), sb = Array.from({ length: 4 }, (_, i) => [Float32Array.from({ length: 640 }, (_, j) => Math.sin(i * 7 + j / 9))]);
    const collect = async (g: typeof a, s: Float32Array[][]) => (await collectStatistics(g, { count: s.length, get: (i) => s[i] }, { passes: ['minmax', 'histogram'], batchSize: 2 })).stats;
    const flat = (m: Awaited<ReturnType<typeof collect>>) => JSON.stringify([...m.values()].map((st) => [st.name, st.min, st.max, Array.from(st.histogram ?? [])]));
    const [alone1, alone2] = [flat(await collect(a, sa)), flat(await collect(b, sb))];
    const [t1, t2] = await Promise.all([collect(a, sa), collect(b, sb)]);
    expect(flat(t1)).toBe(alone1);
    expect(flat(t2)).toBe(alone2);
  });
});

describe('determinism across thread counts', () => {
  it('.ms bytes and benchmark outputs are identical for --numThreads=1,2,4 (a pool of 4 threads)', () => {
    const vww = model('tflite/vww-mobilenetv1-0.25-96-float.tflite');
    const data = path.join(dir, 'vww');
    mkdirSync(data, { recursive: true });
    for (const i of [0, 1, 2, 3]) writeFileSync(path.join(data, `${i}.bin`), Float32Array.from({ length: 96 * 96 * 3 }, (_, j) => Math.sin(i * 13 + j / 37)));
    writeFileSync(path.join(dir, 'vww.cfg'), 'image_path=vww\nbatch_count=4\nmethod_x=KL\nbias_correction=true\n');
    writeFileSync(path.join(dir, 'vww-in.bin'), Float32Array.from({ length: 96 * 96 * 3 }, (_, j) => Math.cos(j / 11)));
    const env = { ...process.env, WEBPTQ_THREADS: '4' };
    const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', timeout: 240_000 });
    const results = [1, 2, 4].map((t) => {
      const c = run([...toolArgv('converter_lite'), '--fmk=TFLITE', `--modelFile=${vww}`, `--outputFile=vww-${t}`, '--quantType=PostTraining', '--configFile=vww.cfg', '--device=cpu', '--quiet', `--numThreads=${t}`]);
      expect(c.status, c.stderr).toBe(0);
      const b = run([...toolArgv('benchmark'), `--modelFile=vww-${t}.ms`, '--inDataFile=vww-in.bin', `--numThreads=${t}`, '--loopCount=1', '--warmUpLoopCount=0', `--saveOutput=out-${t}.txt`]);
      expect(b.status, b.stderr).toBe(0);
      return { ms: readFileSync(path.join(dir, `vww-${t}.ms`)), out: readFileSync(path.join(dir, `out-${t}.txt`), 'utf8') };
    });
    for (const r of results.slice(1)) {
      expect(Buffer.compare(r.ms, results[0].ms)).toBe(0);
      expect(r.out).toBe(results[0].out);
    }
  });
});

describe('no Vulkan loader: one line of ours instead of Dawn\'s warning', () => {
  it('finds libvulkan.so.1 where dlopen looks: LD_LIBRARY_PATH, the ld.so cache; no cache gives the benefit of the doubt', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-vk-'));
    const withLib = path.join(dir, 'lib'), cacheWith = path.join(dir, 'cache-with'), cacheWithout = path.join(dir, 'cache-without');
    mkdirSync(withLib);
    writeFileSync(path.join(withLib, 'libvulkan.so.1'), '');
    writeFileSync(cacheWith, 'ld.so-1.7.0\0libm.so.6\0libvulkan.so.1\0');
    writeFileSync(cacheWithout, 'ld.so-1.7.0\0libm.so.6\0libc.so.6\0');
    expect(await vulkanLoaderPresent({ LD_LIBRARY_PATH: withLib }, cacheWithout)).toBe(true);
    expect(await vulkanLoaderPresent({}, cacheWith)).toBe(true);
    expect(await vulkanLoaderPresent({}, path.join(dir, 'no-cache'))).toBe(true);
    // The default directories of this machine decide when neither says: only assert where they lack it.
    if (!['/lib', '/usr/lib', '/lib64', '/usr/lib64'].some((d) => existsSync(`${d}/libvulkan.so.1`)))
      expect(await vulkanLoaderPresent({}, cacheWithout)).toBe(false);
  });
});

describe('no GPU: one line of ours instead of Dawn\'s warnings about the software drivers it cannot use', () => {
  it('a GPU is a DRM render node, an NVIDIA device file or WSL2\'s dxg', async () => {
    const dev = (files: string[]) => {
      const d = mkdtempSync(path.join(tmpdir(), 'webptq-dev-'));
      for (const f of files) {
        mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
        writeFileSync(path.join(d, f), '');
      }
      return d;
    };
    expect(await gpuDeviceNodePresent(dev(['dri/renderD128']))).toBe(true);
    expect(await gpuDeviceNodePresent(dev(['nvidia0', 'nvidiactl']))).toBe(true);
    expect(await gpuDeviceNodePresent(dev(['dxg']))).toBe(true);
    expect(await gpuDeviceNodePresent(dev(['dri/card0', 'nvidiactl', 'null']))).toBe(false);
    expect(await gpuDeviceNodePresent(dev([]))).toBe(false);
  });

  it('PostTraining with --device=auto on a machine without one prints our line and nothing of Dawn\'s', async (t) => {
    if (process.platform !== 'linux' || (await gpuDeviceNodePresent())) return t.skip();
    const dir = mkdtempSync(path.join(tmpdir(), 'webptq-nogpu-'));
    const r = cli('converter_lite', ['--fmk=ONNX', '--modelFile=examples/mnist-8.onnx', `--outputFile=${path.join(dir, 'm')}`, '--quantType=PostTraining',
      '--configFile=calib-data/mnist-8.cfg']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^no WebGPU adapter found \(no GPU device node [^)]*\)\): calibrating with the CPU executor$/m);
    expect(r.stderr).not.toMatch(/Warning|Loader Message|Vulkan/);
  });
});
