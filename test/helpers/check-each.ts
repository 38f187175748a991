/** One test per corpus model of a CoverageModel list: its check passes, with what it measured printed. */
import { it, expect } from 'vitest';
import type { CoverageModel } from './coverage.js';

export function checkEach(models: CoverageModel[]): void {
  for (const m of models)
    it(`${m.file}: ${m.kind}`, async () => {
      const r = await m.check();
      console.log(`${m.file}: ${r.measured} (converted in ${r.convertMs.toFixed(0)} ms)`);
      expect(r.ok, r.measured).toBe(true);
    }, 120_000);
}
