/** The library API's own behaviour beyond what the CLI tests cover: cancelling a PostTraining run. */
import { describe, it, expect } from 'vitest';
import { convert, quantizeFull, toMs } from '../src/api.js';
import { QuantType } from '../src/ir/schema/ops.js';
import { model, readBytes, mnistDigits } from './helpers/data.js';

describe('quantizeFull with an AbortSignal', () => {
  const bytes = readBytes(model('onnx/mnist-8.onnx'));
  const samples = mnistDigits(40, 0).map((d) => [d.pixels]);

  it('aborted after the first batch: rejects with "cancelled" and leaves the graph float, as it was', async () => {
    const g = convert(bytes, { fmk: 'ONNX' }), before = toMs(g);
    const controller = new AbortController();
    const seen: string[] = [];
    const run = quantizeFull(g, samples, {
      device: 'cpu', batchSize: 4, signal: controller.signal,
      onProgress: (done, total, pass) => {
        seen.push(`${pass} ${done}/${total}`);
        controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/^cancelled$/);
    expect(seen).toEqual(['minmax 1/10']);
    expect(g.nodes.some((n) => n.quantType === QuantType.QUANT_ALL)).toBe(false);
    expect(Buffer.from(toMs(g)).equals(Buffer.from(before))).toBe(true);
  });

  it('not aborted: the same options quantize', async () => {
    const g = convert(bytes, { fmk: 'ONNX' });
    const r = await quantizeFull(g, samples, { device: 'cpu', batchSize: 4, signal: new AbortController().signal });
    expect(r.quantizedNodes.length).toBeGreaterThanOrEqual(3);
  });
});
