/** `--numThreads` of both tools: an integer of at least 1; above what the pool has it is capped, with a warning. */
import { UserError } from '../ir/graph.js';
import { setThreads } from '../cpu/wasm/index.js';

export function applyNumThreads(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new UserError(`INPUT ILLEGAL: numThreads must be an integer greater than 0, got "${v}"`);
  const used = setThreads(n);
  if (used < n) process.stderr.write(`WARNING: numThreads ${n}: this machine's kernel pool has ${used} thread${used > 1 ? 's' : ''}; using ${used}\n`);
  return used;
}
