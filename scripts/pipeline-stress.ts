/**
 * npm run stress:pipeline — whole conversions under load, as a user on a busy machine runs them: converter_lite
 * PostTraining of SqueezeNet 1.1 (100 ImageNet photos as .bin files, MAX_MIN / KL / REMOVAL_OUTLIER, bias
 * correction on) and of road-seg-adas (512x896, 8 photos, MAX_MIN), each --runs times while --busy processes
 * spin on the cores; every .ms must be byte-identical to the same conversion run first on an idle machine with
 * one kernel thread. Exits 1 on any failed run or differing byte.
 *
 *   npm run stress:pipeline [-- --runs=20 --busy=4 --models=squeezenet,road-seg]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { busyProcesses } from '../test/helpers/pool-stress.js';
import { photo, model, SHARED, PHOTOS } from '../test/helpers/data.js';
import { ONNX_CORPUS, corpusPath, corpusInput } from '../test/helpers/corpus.js';
import { toolArgv } from '../test/helpers/cli.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const runs = Number(arg('runs', '20')), busy = Number(arg('busy', '4'));
const which = arg('models', 'squeezenet,road-seg').split(',');
const dir = mkdtempSync(path.join(tmpdir(), 'webptq-pipeline-'));

interface Job { name: string; model: string; cfg: string }
const jobs: Job[] = [];
if (which.includes('squeezenet')) {
  const data = path.join(dir, 'squeezenet');
  mkdirSync(data);
  const photos = readFileSync(path.join(SHARED, 'data/imagenet-500/labels.txt'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[0]).slice(0, 100);
  photos.forEach((f, i) => writeFileSync(path.join(data, `${String(i).padStart(3, '0')}.bin`), photo(path.join(SHARED, 'data/imagenet-500', f), 224, 224, { channels: 'BGR' })));
  for (const method of ['MAX_MIN', 'KL', 'RemovalOutlier']) {
    const cfg = path.join(dir, `squeezenet-${method}.cfg`);
    writeFileSync(cfg, `image_path=${data}\nbatch_count=100\nmethod_x=${method}\nbias_correction=true\n`);
    jobs.push({ name: `SqueezeNet ${method}`, model: model('onnx/squeezenet1.1-fp32.onnx'), cfg });
  }
}
if (which.includes('road-seg')) {
  const m = ONNX_CORPUS.find((c) => c.file.startsWith('road-seg'))!;
  const data = path.join(dir, 'road-seg');
  mkdirSync(data);
  PHOTOS.slice(0, 8).forEach((p, i) => writeFileSync(path.join(data, `${i}.bin`), corpusInput(m, p).nhwc));
  const cfg = path.join(dir, 'road-seg.cfg');
  writeFileSync(cfg, `image_path=${data}\nbatch_count=8\nmethod_x=MAX_MIN\nbias_correction=true\n`);
  jobs.push({ name: 'road-seg-adas MAX_MIN', model: corpusPath(m), cfg });
}

/** One conversion: the .ms's SHA-256, or the error's last line. */
function convert(job: Job, out: string, threads?: number): { sha?: string; error?: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...toolArgv('converter_lite'), '--fmk=ONNX', `--modelFile=${job.model}`, `--outputFile=${out}`,
    '--quantType=PostTraining', `--configFile=${job.cfg}`, '--device=cpu', '--quiet', ...(threads ? [`--numThreads=${threads}`] : [])], { encoding: 'utf8', timeout: 1_800_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) return { error: `exit ${r.status}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`, seconds };
  return { sha: createHash('sha256').update(readFileSync(`${out}.ms`)).digest('hex'), seconds };
}

let failures = 0;
for (const job of jobs) {
  const ref = convert(job, path.join(dir, 'reference'), 1);
  if (!ref.sha) throw new Error(`${job.name}: the idle one-thread run failed: ${ref.error}`);
  process.stderr.write(`${job.name}: idle, 1 thread: ${ref.seconds.toFixed(0)} s\n`);
  const load = busyProcesses(busy);
  let same = 0, slowest = 0;
  for (let i = 0; i < runs; i++) {
    const r = convert(job, path.join(dir, `run${i}`));
    slowest = Math.max(slowest, r.seconds);
    if (r.sha === ref.sha) same++;
    else {
      failures++;
      console.log(`  ${job.name} run ${i + 1}: ${r.error ?? 'the .ms differs from the idle one-thread run'}`);
    }
    process.stderr.write(`  run ${i + 1}/${runs}: ${r.sha === ref.sha ? 'identical' : 'DIFFERS'} (${r.seconds.toFixed(0)} s)\n`);
  }
  load.stop();
  console.log(`${job.name}: ${same} of ${runs} runs with ${busy} busy processes byte-identical to the idle one-thread run (slowest ${slowest.toFixed(0)} s)`);
  for (const f of readdirSync(dir)) if (f.endsWith('.ms')) rmSync(path.join(dir, f));
}
rmSync(dir, { recursive: true, force: true });
process.exit(failures ? 1 : 0);
