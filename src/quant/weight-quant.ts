/**
 * Weight quantization (QUANT_WEIGHT): constant weights of Conv/Deconv/MatMul/FullConnection/Gather become
 * 1..16-bit integers, activations stay float32. The one place that decides which tensors are quantized and
 * why (MindSpore's QuantStrategy), then per-channel or per-layer asymmetric encoding, optional bias
 * correction factors, and the smallest of plain / bit-packed / INDEXING / SPARSE storage.
 */
import { Graph, Node, Tensor, QuantParam, DType, TensorData, sizeOf } from '../ir/graph.js';
import { QuantType } from '../ir/schema/ops.js';
import { findOp } from '../ir/op-registry.js';
import { encodeMinMax, quantize, qRange } from './params.js';
import { preferredDim, channelOf } from './preferred-dim.js';
import { bitPack, indexingSizeBits, indexingEncode, sparseBest, sparseEncode } from './packing.js';
import { Compress, sparseZeroPointAt } from './dequant.js';
import { mixedBitQuantize, MixedBitOptions } from './mixed-bit.js';

export interface WeightQuantOptions {
  bitNum: number;
  /** Weights with at most this many elements stay float. */
  minQuantWeightSize: number;
  /** Convolutions with at most this many output channels stay float. */
  minQuantWeightChannel: number;
  skipQuantNode?: string[];
  perChannel?: boolean;
  biasCorrection?: boolean;
  /**
   * Per-channel clipping search (our extension, `clip_search`; default on at bit_num <= 6): each channel's
   * [min, max] shrinks by the factor that minimises the weights' squared quantization error, instead of
   * MindSpore's plain min/max, which wastes most of a few-bit grid on one outlier.
   */
  clipSearch?: boolean;
  /** enable_encode=false: plain int8 / int16 storage (only at 8 and 16 bits). */
  encode?: boolean;
  /** bit_num=0: MindSpore's mixed-bit search with FSE storage ([mixed_bit_weight_quant_param]). */
  mixedBit?: MixedBitOptions;
}

/** Shrink factors tried by the clipping search: 1, 0.99, ..., 0.30. */
const CLIP_FACTORS = Array.from({ length: 71 }, (_, i) => 1 - i / 100);

export interface WeightQuantRow {
  tensor: string;
  node: string;
  quantized: boolean;
  reason?: string;
  channels?: number;
  compress?: string;
  bytesBefore: number;
  bytesAfter: number;
}

/** Which inputs of a node are weight candidates (its definition's weight slots). */
const weightSlots = (n: Node): number[] => findOp(n.op)?.weights?.slots(n) ?? [];

export function weightQuantize(g: Graph, o: WeightQuantOptions): WeightQuantRow[] {
  const rows: WeightQuantRow[] = [];
  const consumers = g.consumers();
  const done = new Set<number>();
  const skip = new Set(o.skipQuantNode ?? []);
  for (const node of g.nodes) {
    for (const slot of weightSlots(node)) {
      const id = node.inputs[slot];
      if (id === undefined || id < 0 || done.has(id)) continue;
      const t = g.tensors[id];
      if (!(t.data instanceof Float32Array) || t.shape.length < 2) continue;
      done.add(id);
      const users = consumers.get(id) ?? [];
      const bytes = t.data.byteLength;
      const row: WeightQuantRow = { tensor: t.name, node: node.name, quantized: false, bytesBefore: bytes, bytesAfter: bytes };
      rows.push(row);
      const dim = preferredDim(g, node, slot);
      const n = sizeOf(t.shape);
      // The strategy: every reason a weight stays float, in MindSpore's order (<= comparisons skip).
      if (skip.has(node.name)) row.reason = 'node listed in skip_quant_node';
      else if (users.some((u) => !findOp(u.op)?.weights)) row.reason = 'also read by an op that takes float weights';
      else if (n <= o.minQuantWeightSize) row.reason = `${n} elements <= min_quant_weight_size ${o.minQuantWeightSize}`;
      else if (findOp(node.op)?.weights?.channelThreshold && t.shape[dim] <= o.minQuantWeightChannel)
        row.reason = `${t.shape[dim]} channels <= min_quant_weight_channel ${o.minQuantWeightChannel}`;
      if (row.reason) continue;
      if (o.bitNum === 0) {
        quantizeMixedBit(t, o.mixedBit ?? { initScale: 0.02, maxIterations: 40, autoTune: false }, row, users);
        continue;
      }
      const perChannel = (o.perChannel ?? true) && t.shape.length > 1 && !(node.op === 'MatMulFusion' && users.length > 1);
      const perChannelElems = n / t.shape[dim];
      // The gain check: too few elements per channel to pay for a QuantParam each.
      if (perChannel && (o.biasCorrection ?? true) && Math.floor(256 / (32 - o.bitNum)) >= perChannelElems) {
        row.reason = `${perChannelElems} elements per channel, too few for ${o.bitNum}-bit per-channel quantization`;
        continue;
      }
      quantizeTensor(t, perChannel ? dim : -1, o);
      for (const u of users) u.quantType = QuantType.QUANT_WEIGHT;
      row.quantized = true;
      row.channels = t.quant!.length;
      row.compress = ['NONE', 'INDEXING', 'SPARSE', '', 'BITPACKING'][t.compress ?? 0];
      row.bytesAfter = (t.raw ?? new Uint8Array(t.data!.buffer)).byteLength;
    }
  }
  return rows;
}

/** One weight through the mixed-bit search; a weight whose search fails stays float, with the reason. */
function quantizeMixedBit(t: Tensor, o: MixedBitOptions, row: WeightQuantRow, users: Node[]): void {
  const levels = mixedBitQuantize(t, o);
  if (levels === undefined) {
    row.reason = `the mixed-bit search found no step meeting init_scale ${o.initScale} (or too many levels for FSE)`;
    return;
  }
  for (const u of users) u.quantType = QuantType.QUANT_WEIGHT;
  Object.assign(row, { quantized: true, channels: 1, compress: `FSE, ${levels} levels`, bytesAfter: t.raw!.byteLength });
}

/** Replaces a float tensor's data by b-bit integers with one QuantParam per channel along `dim` (-1: one). */
export function quantizeTensor(t: Tensor, dim: number, o: Pick<WeightQuantOptions, 'bitNum' | 'biasCorrection' | 'clipSearch' | 'encode'>): void {
  const data = t.data as Float32Array;
  const bits = o.bitNum;
  const [qmin, qmax] = qRange(bits);
  const channels = dim < 0 ? 1 : t.shape[dim];
  const chan = dim < 0 ? () => 0 : channelOf(t.shape, dim);
  const mins = new Float64Array(channels).fill(Infinity), maxs = new Float64Array(channels).fill(-Infinity);
  for (let j = 0; j < data.length; j++) {
    const c = chan(j);
    if (data[j] < mins[c]) mins[c] = data[j];
    if (data[j] > maxs[c]) maxs[c] = data[j];
  }
  const correct = (o.biasCorrection ?? true) && channels > 1;
  if (o.clipSearch ?? bits <= 6) clipRanges(data, chan, mins, maxs, qmin, qmax, correct);
  const params: QuantParam[] = [];
  for (let c = 0; c < channels; c++) {
    const e = encodeMinMax(mins[c], maxs[c], qmin, qmax);
    params.push({ scale: e.scale, zeroPoint: e.zeroPoint, min: 0, max: 0, narrowRange: true, numBits: bits, inited: true, varCorr: 1, meanCorr: 0 });
  }
  const q = new Int32Array(data.length);
  for (let j = 0; j < data.length; j++) {
    const p = params[chan(j)];
    q[j] = quantize(data[j], p.scale, p.zeroPoint, qmin, qmax);
  }
  // Bias correction factors make each channel's dequantized mean and spread match the float weights; the
  // runtime applies them only to per-channel weights.
  if (correct) biasCorrection(data, q, params, chan);
  store(t, q, params, bits, o.encode ?? true);
}

/** Narrows every channel's [min, max] in place to the CLIP_FACTORS multiple with the least squared error. */
function clipRanges(data: Float32Array, chan: (j: number) => number, mins: Float64Array, maxs: Float64Array, qmin: number, qmax: number, corrected: boolean): void {
  const channels = mins.length;
  const members: number[][] = Array.from({ length: channels }, () => []);
  for (let j = 0; j < data.length; j++) members[chan(j)].push(j);
  for (let c = 0; c < channels; c++) {
    let best = 1, bestErr = Infinity;
    for (const f of CLIP_FACTORS) {
      const e = encodeMinMax(mins[c] * f, maxs[c] * f, qmin, qmax);
      const err = correctedError(data, members[c], e, qmin, qmax, corrected);
      if (err < bestErr) {
        bestErr = err;
        best = f;
      }
    }
    mins[c] *= best;
    maxs[c] *= best;
  }
}

/**
 * Squared error of one channel's weights at encoding `e`, after the varCorr / meanCorr the runtime applies when
 * `corrected` (what the dequantized weights will really be).
 */
function correctedError(data: Float32Array, members: number[], e: { scale: number; zeroPoint: number }, qmin: number, qmax: number, corrected: boolean): number {
  const d = members.map((j) => (quantize(data[j], e.scale, e.zeroPoint, qmin, qmax) - e.zeroPoint) * e.scale);
  let a = 1, b = 0;
  if (corrected) {
    const m = { n: members.length, sr: 0, sr2: 0, sd: 0, sd2: 0 };
    members.forEach((j, k) => { m.sr += data[j]; m.sr2 += data[j] * data[j]; m.sd += d[k]; m.sd2 += d[k] * d[k]; });
    ({ varCorr: a, meanCorr: b } = correctionFactors(m.n, m.sr, m.sr2, m.sd, m.sd2));
  }
  let err = 0;
  members.forEach((j, k) => (err += (data[j] - (a * d[k] + b)) ** 2));
  return err;
}

function biasCorrection(raw: Float32Array, q: Int32Array, params: QuantParam[], chan: (j: number) => number): void {
  const c = params.length;
  const s = { n: new Float64Array(c), sr: new Float64Array(c), sr2: new Float64Array(c), sd: new Float64Array(c), sd2: new Float64Array(c) };
  for (let j = 0; j < raw.length; j++) {
    const k = chan(j), p = params[k];
    const d = (q[j] - p.zeroPoint) * p.scale;
    s.n[k]++; s.sr[k] += raw[j]; s.sr2[k] += raw[j] * raw[j]; s.sd[k] += d; s.sd2[k] += d * d;
  }
  for (let k = 0; k < c; k++) {
    const { varCorr, meanCorr } = correctionFactors(s.n[k], s.sr[k], s.sr2[k], s.sd[k], s.sd2[k]);
    // Stored as float in the file: keep the in-memory graph computing what the written one computes.
    params[k].varCorr = Math.fround(varCorr);
    params[k].meanCorr = Math.fround(meanCorr);
  }
}

/**
 * From a channel's count and the sums (and sums of squares) of its float (r) and dequantized (d) weights: the
 * factors that give the dequantized weights the float ones' spread and mean.
 */
function correctionFactors(n: number, sr: number, sr2: number, sd: number, sd2: number): { varCorr: number; meanCorr: number } {
  const mr = sr / n, md = sd / n;
  const vr = Math.max(sr2 / n - mr * mr, 0), vd = Math.max(sd2 / n - md * md, 0);
  let varCorr = vd > 0 ? Math.sqrt(vr) / Math.sqrt(vd) : 1;
  if (!(varCorr > 0 && varCorr < 10)) varCorr = 1;
  return { varCorr, meanCorr: mr - md * varCorr };
}

/** Picks the smallest storage, as the converter's enable_encode does; plain int8 / int16 without it. */
function store(t: Tensor, q: Int32Array, params: QuantParam[], bits: number, encode: boolean): void {
  const n = q.length;
  const plainBits = bits * n;
  const idxBits = indexingSizeBits(q, bits);
  const sparse = sparseBest(q, bits, sparseZeroPointAt(params, n));
  let compress: number = bits === 8 || bits === 16 ? Compress.NONE : Compress.BITPACKING;
  if (!encode) return void Object.assign(t, encodeWeight(q, params, bits, compress));
  if (Math.ceil(idxBits / 8) < Math.ceil(plainBits / 8) && idxBits <= sparse.sizeBits) compress = Compress.INDEXING;
  else if (Math.ceil(sparse.sizeBits / 8) < Math.ceil(plainBits / 8)) compress = Compress.SPARSE;
  Object.assign(t, encodeWeight(q, params, bits, compress));
}

/**
 * The stored form of b-bit weight integers in one storage: NONE (int8/int16 arrays, 8 and 16 bits only),
 * BITPACKING (every other width), INDEXING or SPARSE.
 */
export function encodeWeight(q: Int32Array, params: QuantParam[], bits: number, compress: number): Pick<Tensor, 'dtype' | 'quant' | 'data' | 'raw' | 'compress'> {
  const stored = { dtype: (bits <= 8 ? 'int8' : 'int16') as DType, quant: params, data: undefined as TensorData | undefined, raw: undefined as Uint8Array | undefined, compress };
  if (compress === Compress.INDEXING) stored.raw = indexingEncode(q, bits);
  else if (compress === Compress.SPARSE) {
    const zpAt = sparseZeroPointAt(params, q.length);
    stored.raw = sparseEncode(q, bits, zpAt, sparseBest(q, bits, zpAt).coorBits);
  } else if (compress === Compress.BITPACKING && bits !== 8 && bits !== 16) stored.raw = bitPack(q, bits);
  else if (compress === Compress.NONE && bits === 8) stored.data = Int8Array.from(q);
  else if (compress === Compress.NONE && bits === 16) stored.data = Int16Array.from(q);
  else throw new Error(`no ${compress} storage for ${bits}-bit weights`);
  return stored;
}
