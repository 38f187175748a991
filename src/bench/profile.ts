/**
 * Time per op type over timed runs (`benchmark --timeProfiling=true`, `npm run bench`'s profile), in the
 * layout of MindSpore Lite's benchmark: opType, avg(ms) per run, percent of the total, calls, total ms.
 */
import type { Node } from '../ir/graph.js';
import { QuantType } from '../ir/schema/ops.js';

export class OpProfile {
  private byType = new Map<string, { ms: number; calls: number }>();
  private runs = 0;

  /** The executor's `timeNode` hook; int8 nodes are listed apart from float ones of the same op. */
  readonly record = (node: Node, ms: number, route?: string): void => {
    const int8 = node.quantType === QuantType.QUANT_ALL || node.quantType === QuantType.QUANT_DYNAMIC;
    const key = route ?? (int8 ? `${node.op} (int8)` : node.op);
    const e = this.byType.get(key) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    this.byType.set(key, e);
  };

  /** Marks the end of one timed run (avg is per run). */
  endRun(): void {
    this.runs++;
  }

  /** Rows by time, largest first. */
  rows(): { opType: string; avgMs: number; percent: number; calls: number; totalMs: number }[] {
    const total = [...this.byType.values()].reduce((a, e) => a + e.ms, 0) || 1;
    const runs = Math.max(this.runs, 1);
    return [...this.byType].map(([opType, e]) => ({ opType, avgMs: e.ms / runs, percent: (100 * e.ms) / total, calls: e.calls, totalMs: e.ms }))
      .sort((a, b) => b.totalMs - a.totalMs);
  }

  format(): string {
    const line = '-'.repeat(73);
    const head = ['opType', 'avg(ms)', 'percent', 'calledTimes', 'opTotalTime'];
    const body = this.rows().map((r) => [r.opType, r.avgMs.toFixed(3), `${r.percent.toFixed(2)}%`, String(r.calls), r.totalMs.toFixed(3)]);
    const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k].length)) + 2);
    const fmt = (cells: string[]) => cells.map((c, k) => c.padEnd(w[k])).join('').trimEnd();
    return [line, fmt(head), ...body.map(fmt), line].join('\n') + '\n';
  }
}
