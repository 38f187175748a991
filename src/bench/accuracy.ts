/**
 * MindSpore Lite benchmark arithmetic (`CompareData`) and its text reference format: per output tensor a
 * line `<name> <ndims> <d0> ... <dn-1>` then one line with all values.
 */
import { UserError } from '../ir/graph.js';

const FLT_EPSILON = 1.1920928955078125e-7;
const FLT_MIN = 1.1754943508222875e-38;

export interface Reference {
  name: string;
  shape: number[];
  values: Float32Array;
}

export function parseBenchmarkData(text: string, file = 'benchmark data'): Reference[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length);
  const refs: Reference[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const head = lines[i].trim().split(/\s+/);
    const ndims = Number(head[1]);
    const shape = head.slice(2, 2 + ndims).map(Number);
    if (head.length < 2 || !Number.isInteger(ndims) || shape.length !== ndims || shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new UserError(`${file}: line ${i + 1}: expected "<tensor name> <ndims> <dims...>", got "${lines[i].slice(0, 80)}"`);
    const vals = (lines[i + 1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    const n = shape.reduce((a, b) => a * b, 1);
    if (vals.length !== n) throw new UserError(`${file}: tensor ${head[0]}: expected ${n} values, got ${vals.length}`);
    refs.push({ name: head[0], shape, values: Float32Array.from(vals) });
  }
  return refs;
}

export function formatBenchmarkData(outputs: { name: string; shape: number[]; values: ArrayLike<number> }[]): string {
  return outputs.map((o) => `${o.name} ${o.shape.length} ${o.shape.join(' ')}\n${Array.from(o.values, (v) => String(v)).join(' ')}\n`).join('');
}

/**
 * Mean relative error of one tensor over its out-of-tolerance elements (MindSpore's CompareData):
 * tolerance 1e-8 + 1e-5*|expected|; near-zero expected values (< FLT_EPSILON) count |diff| only above 1e-5.
 */
export function meanError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const d = Math.abs(actual[i] - e);
    if (d <= 1e-8 + 1e-5 * Math.abs(e)) continue;
    if (Math.abs(e) < FLT_EPSILON) {
      if (d > 1e-5) {
        sum += d;
        count++;
      }
    } else {
      sum += d / (Math.abs(e) + FLT_MIN);
      count++;
    }
  }
  return count ? sum / count : 0;
}

export function hasNonFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return true;
  return false;
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 && nb === 0) return 1;
  return dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
}
