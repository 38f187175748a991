/**
 * The browser demo: the same library as the CLI, calibrating on the visitor's GPU (navigator.gpu) and
 * handing back a MindSpore Lite .ms with the same bytes converter_lite writes for the same inputs and settings.
 */
import { loadModel, Fmk } from '../src/convert.js';
import { writeMs } from '../src/ir/export/ms.js';
import { weightQuantize } from '../src/quant/weight-quant.js';
import { fullQuantize, FullQuantResult } from '../src/quant/full-quant.js';
import { statisticsCollector } from '../src/calibrate.js';
import type { CalibrationMethod } from '../src/quant/calibrators.js';
import type { SampleSource, TensorStats } from '../src/quant/stats.js';
import { HIST_BINS } from '../src/quant/stats.js';
import { resizeBilinear, toTensor, checkImageSize, RgbImage } from '../src/data/images.js';
import { Graph, UserError, sizeOf } from '../src/ir/graph.js';
import exampleModelUrl from '../examples/mnist-8.onnx?url';

const exampleDigits = import.meta.glob('../calib-data/mnist-8/*.bin', { query: '?url', import: 'default', eager: true }) as Record<string, string>;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
type ModelFile = { bytes: Uint8Array; name: string; fmk: Fmk; weightFile?: { bytes: Uint8Array; file: string } };
const state: { model?: ModelFile; data: File[]; abort?: AbortController; busy: boolean } = { data: [], busy: false };

function showError(msg: string | undefined): void {
  const el = $('error');
  el.hidden = !msg;
  el.textContent = msg ?? '';
}

function fmkOf(name: string): Fmk {
  const ext = name.toLowerCase().split('.').pop();
  const fmk = ({ onnx: 'ONNX', tflite: 'TFLITE', mindir: 'MINDIR', ms: 'MSLITE', prototxt: 'CAFFE', pb: 'TF' } as Record<string, Fmk>)[ext ?? ''];
  if (!fmk) throw new UserError(`${name}: not a model file this page converts (.onnx, .tflite, .mindir, .ms, a TensorFlow .pb, a .prototxt with its .caffemodel)`);
  return fmk;
}

function refresh(): void {
  $<HTMLButtonElement>('quantize').disabled = state.busy || !state.model || (mode() === 'PostTraining' && !state.data.length);
  $<HTMLButtonElement>('cancel').disabled = !state.busy;
  $('data-info').textContent = state.data.length ? `${state.data.length} calibration file(s): ${state.data.slice(0, 3).map((f) => f.name).join(', ')}${state.data.length > 3 ? ', ...' : ''}` : '';
}

const mode = () => (document.querySelector('input[name=mode]:checked') as HTMLInputElement).value as 'PostTraining' | 'WeightQuant';

/** Validates the model right away: a corrupt or unsupported one is reported before anything else. */
function setModel(bytes: Uint8Array, name: string, weightFile?: ModelFile['weightFile']): void {
  showError(undefined);
  $('results').hidden = true;
  state.model = undefined;
  try {
    const g = loadModel(bytes, fmkOf(name), name, { weightFile });
    state.model = { bytes, name, fmk: fmkOf(name), weightFile };
    $('model-info').textContent = `${name}: ${g.nodes.length} ops, input ${g.inputs.map((i) => `${g.tensors[i].name} [${g.tensors[i].shape}]`).join(', ')}`;
  } catch (e) {
    $('model-info').textContent = '';
    showError((e as Error).message);
  }
  refresh();
}

async function setData(files: File[]): Promise<void> {
  state.data = files.filter((f) => f.size > 0).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  refresh();
}

async function decodeInBrowser(file: File): Promise<RgbImage> {
  // As in the CLI: an image too large to decode is refused from its header, before the browser decodes it.
  checkImageSize(new Uint8Array(await file.slice(0, 65536).arrayBuffer()), file.name);
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    throw new UserError(`${file.name}: the image failed to decode`);
  }
  const canvas = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0);
  const rgba = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
  const data = new Uint8Array(bmp.width * bmp.height * 3);
  for (let i = 0; i < bmp.width * bmp.height; i++) data.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  return { width: bmp.width, height: bmp.height, data };
}

const numbers = (s: string) => (s.trim() ? s.split(/[,\s]+/).map(Number) : undefined);

/** Calibration samples as the CLI reads them: sorted by name, .bin of the exact input size, or preprocessed images. */
async function samplesFor(g: Graph): Promise<SampleSource> {
  if (g.inputs.length !== 1) throw new UserError(`this page calibrates single-input models; this one has ${g.inputs.length} inputs (use converter_lite)`);
  const t = g.tensors[g.inputs[0]];
  const need = sizeOf(t.shape);
  const out: Float32Array[] = [];
  for (const f of state.data) {
    if (f.name.toLowerCase().endsWith('.bin')) {
      if (f.size !== need * 4) throw new UserError(`Input binary file size error, required: ${need * 4}, in fact: ${f.size} (${f.name})`);
      out.push(new Float32Array(await f.arrayBuffer()));
      continue;
    }
    let img = await decodeInBrowser(f);
    const w = Number($<HTMLInputElement>('resize-w').value), h = Number($<HTMLInputElement>('resize-h').value);
    if (w && h) img = resizeBilinear(img, w, h);
    const x = toTensor(img, { channels: $<HTMLSelectElement>('channels').value as 'RGB', mean: numbers($<HTMLInputElement>('mean').value), std: numbers($<HTMLInputElement>('std').value) });
    if (x.length !== need) throw new UserError(`${f.name}: preprocessed to ${x.length} values, input ${t.name} [${t.shape}] needs ${need} (set the resize and channel order)`);
    out.push(x);
  }
  return { count: out.length, get: (i) => [out[i]] };
}

async function quantize(): Promise<void> {
  if (!state.model) return;
  showError(undefined);
  $('results').hidden = true;
  state.busy = true;
  state.abort = new AbortController();
  refresh();
  const { bytes, name, fmk, weightFile } = state.model;
  try {
    const g = loadModel(bytes, fmk, name, { weightFile });
    const floatSize = writeMs(g).length;
    let out: Uint8Array;
    let rows: string[][] = [];
    if (mode() === 'WeightQuant') {
      const r = weightQuantize(g, { bitNum: Number($<HTMLInputElement>('bits').value), minQuantWeightSize: 0, minQuantWeightChannel: 16 });
      out = writeMs(g);
      rows = r.map((x) => [x.tensor, x.quantized ? `${x.channels} channels` : `float: ${x.reason}`, '', '', '', '', '']);
      $('progress').textContent = `weights quantized: ${r.filter((x) => x.quantized).length} of ${r.length}`;
    } else {
      const samples = await samplesFor(g);
      const started = performance.now();
      const batchSize = 8;
      const result = await fullQuantize(g, samples, {
        method: $<HTMLSelectElement>('method').value as CalibrationMethod, biasCorrection: $<HTMLInputElement>('bias-correction').checked,
        perChannel: true, bitNum: 8, batchSize, histograms: true,
        collect: statisticsCollector({
          device: 'auto',
          log: (line) => ($('adapter').textContent = line),
          onProgress: (done, total, pass) => {
            if (state.abort?.signal.aborted) throw new UserError('cancelled');
            const n = Math.min(done * batchSize, samples.count), secs = (performance.now() - started) / 1000;
            $('progress').textContent = `${pass}: ${n} of ${samples.count} samples calibrated, ${(n / secs).toFixed(1)} samples/s, ETA ${Math.ceil(((total - done) * secs) / done)} s`;
          },
        }),
      });
      out = writeMs(g, { explicitQuantParams: true });
      rows = tableRows(result);
      $('progress').textContent = `done: ${samples.count} samples, ${result.quantizedNodes.length} int8 nodes`;
    }
    showResult(out, floatSize, name, rows);
  } catch (e) {
    showError((e as Error).message === 'cancelled' ? 'Cancelled.' : (e as Error).message);
  } finally {
    state.busy = false;
    refresh();
  }
}

let plots: { canvas: HTMLCanvasElement; st: TensorStats; lo: number; hi: number }[] = [];
function tableRows(r: FullQuantResult): string[][] {
  plots = [];
  return r.rows.map((x) => {
    const st = r.stats.get(x.tensor);
    if (st) plots.push({ canvas: document.createElement('canvas'), st, lo: x.min, hi: x.max });
    return [x.tensor, `[${x.min.toPrecision(4)}, ${x.max.toPrecision(4)}]`, x.scale.toExponential(3), String(x.zeroPoint), `${(x.clippedFraction * 100).toFixed(2)}%`, x.cosine.toFixed(5), st ? `plot:${plots.length - 1}` : ''];
  });
}

/** |x| histogram (log counts) with the clipping thresholds |lo| and |hi| drawn in. */
function drawHistogram({ canvas, st, lo, hi }: (typeof plots)[number]): void {
  canvas.width = 220;
  canvas.height = 40;
  const c = canvas.getContext('2d')!;
  const h = st.histogram!, max = st.histMax || 1, cols = canvas.width;
  const sums = new Float64Array(cols);
  for (let b = 0; b < HIST_BINS; b++) sums[Math.floor((b * cols) / HIST_BINS)] += h[b];
  const top = Math.log1p(Math.max(...sums));
  c.fillStyle = '#2f5bb7';
  sums.forEach((v, x) => {
    const bh = (Math.log1p(v) / (top || 1)) * canvas.height;
    c.fillRect(x, canvas.height - bh, 1, bh);
  });
  c.fillStyle = '#d11';
  for (const t of [Math.abs(lo), Math.abs(hi)]) c.fillRect(Math.min(cols - 1, Math.round((t / max) * cols)), 0, 1, canvas.height);
}

function showResult(bytes: Uint8Array, floatSize: number, name: string, rows: string[][]): void {
  const file = `${name.replace(/\.[^.]+$/, '')}.ms`;
  $('sizes').textContent = `float .ms ${floatSize.toLocaleString()} bytes -> quantized ${bytes.length.toLocaleString()} bytes (${(bytes.length / floatSize).toFixed(3)}x)`;
  const a = $<HTMLAnchorElement>('download');
  a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  a.download = file;
  a.textContent = `Download ${file}`;
  const body = $('table').querySelector('tbody')!;
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    for (const cell of r) {
      const td = document.createElement('td');
      if (cell.startsWith('plot:')) {
        const p = plots[Number(cell.slice(5))];
        drawHistogram(p);
        td.append(p.canvas);
      } else td.textContent = cell;
      tr.append(td);
    }
    return tr;
  }));
  $('results').hidden = false;
}

async function loadExample(): Promise<void> {
  showError(undefined);
  const model = new Uint8Array(await (await fetch(exampleModelUrl)).arrayBuffer());
  const files = await Promise.all(Object.entries(exampleDigits).map(async ([path, url]) => new File([await (await fetch(url)).arrayBuffer()], path.split('/').pop()!)));
  (document.querySelector('input[value=PostTraining]') as HTMLInputElement).checked = true;
  $<HTMLSelectElement>('method').value = 'MAX_MIN';
  $<HTMLInputElement>('bias-correction').checked = true;
  setModel(model, 'mnist-8.onnx');
  await setData(files);
}

function dropZone(id: string, onFiles: (files: File[]) => void): void {
  const el = $(id);
  el.addEventListener('dragover', (e) => { e.preventDefault(); el.classList.add('over'); });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('over');
    onFiles([...(e.dataTransfer?.files ?? [])]);
  });
}

/** One model file, or a Caffe .prototxt dropped together with its .caffemodel. */
async function onModelFiles(files: File[]): Promise<void> {
  const bytesOf = async (f: File) => new Uint8Array(await f.arrayBuffer());
  const prototxt = files.find((f) => f.name.toLowerCase().endsWith('.prototxt'));
  if (!prototxt) return files[0] && setModel(await bytesOf(files[0]), files[0].name);
  const weights = files.find((f) => f.name.toLowerCase().endsWith('.caffemodel'));
  setModel(await bytesOf(prototxt), prototxt.name, weights && { bytes: await bytesOf(weights), file: weights.name });
}
$<HTMLInputElement>('model-file').addEventListener('change', (e) => onModelFiles(Array.from((e.target as HTMLInputElement).files ?? [])));
$<HTMLInputElement>('data-files').addEventListener('change', (e) => setData(Array.from((e.target as HTMLInputElement).files ?? [])));
$<HTMLInputElement>('data-dir').addEventListener('change', (e) => setData(Array.from((e.target as HTMLInputElement).files ?? [])));
dropZone('model-drop', onModelFiles);
dropZone('data-drop', setData);
$('example').addEventListener('click', () => void loadExample());
$('quantize').addEventListener('click', () => void quantize());
$('cancel').addEventListener('click', () => state.abort?.abort());
document.querySelectorAll('input[name=mode]').forEach((r) => r.addEventListener('change', refresh));
refresh();
