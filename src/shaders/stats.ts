/**
 * Activation statistics on the device, so activations never leave the GPU:
 *  - min / max with u32 atomics on order-preserving keys (negative x -> ~bits, else bits | 0x80000000),
 *    NaN and Inf counted apart and excluded;
 *  - a 2048-bin histogram of |x| over [0, absmax] with MindSpore's binning, privatized in workgroup memory;
 *  - exact per-sample order statistics by radix select: four 8-bit rounds over the same keys.
 * Per-tensor slots: stats[t*4 + 0..3] = min key, max key, NaN count, Inf count.
 * min / max and the histogram read only the pass's real samples: `valid[0]` of them (a short last batch runs padded
 * with copies in the full batch's pipelines, which are not compiled again); samples lie one after another.
 */
import { u } from './common.js';

const WG = 256;

const KEY_FN = `
fn key_of(bits: u32) -> u32 { return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u); }
fn is_finite_bits(bits: u32) -> bool { return (bits & 0x7f800000u) != 0x7f800000u; }`;

/** One statistics kernel reading `n` elements of one activation buffer; `groups` workgroups grid-stride. */
function groupsFor(n: number): number {
  return Math.max(1, Math.min(1024, Math.ceil(n / (WG * 16))));
}

/** The loop bound of a statistics kernel over `n` elements of which the first `valid[0]` samples' are real. */
const validCount = (n: number, samples: number) => `min(${u(n)}, valid[0] * ${u(n / samples)})`;

export function minMaxKernel(n: number, samples: number, slot: number): { code: string; dispatch: [number, number, number] } {
  const groups = groupsFor(n);
  const code = `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> valid: array<u32>;
${KEY_FN}
var<workgroup> wmin: atomic<u32>;
var<workgroup> wmax: atomic<u32>;
var<workgroup> wnan: atomic<u32>;
var<workgroup> winf: atomic<u32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { atomicStore(&wmin, 0xffffffffu); atomicStore(&wmax, 0u); atomicStore(&wnan, 0u); atomicStore(&winf, 0u); }
  workgroupBarrier();
  var lo = 0xffffffffu; var hi = 0u; var nans = 0u; var infs = 0u;
  let count = ${validCount(n, samples)};
  for (var i = wid.x * ${WG}u + lid; i < count; i = i + ${u(groups * WG)}) {
    let b = x[i];
    if (!is_finite_bits(b)) {
      if ((b & 0x007fffffu) != 0u) { nans = nans + 1u; } else { infs = infs + 1u; }
      continue;
    }
    let k = key_of(b);
    lo = min(lo, k); hi = max(hi, k);
  }
  atomicMin(&wmin, lo); atomicMax(&wmax, hi);
  if (nans > 0u) { atomicAdd(&wnan, nans); }
  if (infs > 0u) { atomicAdd(&winf, infs); }
  workgroupBarrier();
  if (lid == 0u) {
    atomicMin(&stats[${u(slot * 4)}], atomicLoad(&wmin));
    atomicMax(&stats[${u(slot * 4 + 1)}], atomicLoad(&wmax));
    atomicAdd(&stats[${u(slot * 4 + 2)}], atomicLoad(&wnan));
    atomicAdd(&stats[${u(slot * 4 + 3)}], atomicLoad(&winf));
  }
}`;
  return { code, dispatch: [groups, 1, 1] };
}

/**
 * Histogram of |x| into 2048 bins over [0, absmax], absmax read from the pass-1 stats of this tensor:
 * bin = min(u32(|x| / (absmax / 2048)), 2047), |x| <= DBL_EPSILON skipped (MindSpore's DataDistribution).
 */
export function histogramKernel(n: number, samples: number, slot: number, binCount: number): { code: string; dispatch: [number, number, number] } {
  const groups = groupsFor(n);
  const code = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> stats: array<u32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> valid: array<u32>;
${KEY_FN}
fn value_of(k: u32) -> f32 { return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u)); }
var<workgroup> bins: array<atomic<u32>, ${binCount}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  for (var b = lid; b < ${binCount}u; b = b + ${WG}u) { atomicStore(&bins[b], 0u); }
  workgroupBarrier();
  let absmax = max(abs(value_of(stats[${u(slot * 4)}])), abs(value_of(stats[${u(slot * 4 + 1)}])));
  let interval = absmax / ${binCount}.0;
  let count = ${validCount(n, samples)};
  for (var i = wid.x * ${WG}u + lid; i < count; i = i + ${u(groups * WG)}) {
    let v = x[i];
    let bits = bitcast<u32>(v);
    if (!is_finite_bits(bits)) { continue; }
    let a = abs(v);
    if (a <= 2.220446049250313e-16 || interval <= 0.0) { continue; }
    let bin = min(u32(a / interval), ${binCount - 1}u);
    atomicAdd(&bins[bin], 1u);
  }
  workgroupBarrier();
  for (var b = lid; b < ${binCount}u; b = b + ${WG}u) {
    let c = atomicLoad(&bins[b]);
    if (c > 0u) { atomicAdd(&hist[${u(slot * binCount)} + b], c); }
  }
}`;
  return { code, dispatch: [groups, 1, 1] };
}

/**
 * Radix-select round: for every sample and both targets (low, high quantile), count how many elements whose
 * key matches the target's prefix fall in each of the 256 buckets of the byte at `shift`.
 * state[(s*2+t)*2 + 0..1] = prefix, remaining rank; counts[(s*2+t)*256 + bucket].
 */
export function radixCountKernel(perSample: number, samples: number, shift: number): { code: string; dispatch: [number, number, number] } {
  const mask = shift === 24 ? 0 : (0xffffffff << (shift + 8)) >>> 0;
  const groupsPerSample = Math.max(1, Math.min(64, Math.ceil(perSample / (WG * 16))));
  const code = `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
${KEY_FN}
var<workgroup> local: array<atomic<u32>, 512>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let s = wid.y;
  for (var b = lid; b < 512u; b = b + ${WG}u) { atomicStore(&local[b], 0u); }
  workgroupBarrier();
  let p0 = state[(s * 2u) * 2u]; let p1 = state[(s * 2u + 1u) * 2u];
  for (var i = wid.x * ${WG}u + lid; i < ${u(perSample)}; i = i + ${u(groupsPerSample * WG)}) {
    let b = x[s * ${u(perSample)} + i];
    let k = key_of(b);
    let bucket = (k >> ${u(shift)}) & 255u;
    if ((k & ${u(mask)}) == (p0 & ${u(mask)})) { atomicAdd(&local[bucket], 1u); }
    if ((k & ${u(mask)}) == (p1 & ${u(mask)})) { atomicAdd(&local[256u + bucket], 1u); }
  }
  workgroupBarrier();
  for (var b = lid; b < 512u; b = b + ${WG}u) {
    let c = atomicLoad(&local[b]);
    if (c > 0u) { atomicAdd(&counts[s * 512u + b], c); }
  }
}`;
  return { code, dispatch: [groupsPerSample, samples, 1] };
}

/** Sets every (sample, target) to prefix 0 and its target rank, before the first round. */
export function radixInitKernel(samples: number, ranks: [number, number]): { code: string; dispatch: [number, number, number] } {
  const code = `
@group(0) @binding(0) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= ${u(samples * 2)}) { return; }
  state[j * 2u] = 0u;
  state[j * 2u + 1u] = select(${u(ranks[1])}, ${u(ranks[0])}, j % 2u == 0u);
}`;
  return { code, dispatch: [Math.ceil((samples * 2) / 64), 1, 1] };
}

/**
 * Picks the bucket holding the remaining rank for every (sample, target), narrows the prefix, and zeroes the
 * counts it read for the next round. The last round (shift 0) writes the selected key to `results`.
 */
export function radixSelectKernel(samples: number, shift: number, resultOffset: number): { code: string; dispatch: [number, number, number] } {
  const last = shift === 0;
  const code = `
@group(0) @binding(0) var<storage, read_write> counts: array<u32>;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
${last ? '@group(0) @binding(2) var<storage, read_write> results: array<u32>;' : ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= ${u(samples * 2)}) { return; }
  let rank = state[j * 2u + 1u];
  var acc = 0u;
  var bucket = 256u;
  for (var b = 0u; b < 256u; b = b + 1u) {
    let c = counts[j * 256u + b];
    if (bucket == 256u && rank < acc + c) { bucket = b; } else if (bucket == 256u) { acc = acc + c; }
    counts[j * 256u + b] = 0u;
  }
  bucket = min(bucket, 255u);
  let prefix = (state[j * 2u] & ~(255u << ${u(shift)})) | (bucket << ${u(shift)});
  state[j * 2u] = prefix;
  state[j * 2u + 1u] = rank - acc;
  ${last ? `results[${u(resultOffset)} + j] = prefix;` : ''}
}`;
  return { code, dispatch: [Math.ceil((samples * 2) / 64), 1, 1] };
}
