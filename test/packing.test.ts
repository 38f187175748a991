/** Weight storage encodings: round trips for every width and hand-checked golden bytes. */
import { describe, it, expect } from 'vitest';
import { bitPack, bitUnpack, indexingEncode, indexingDecode, indexingSizeBits, sparseBest, sparseEncode, sparseDecode } from '../src/quant/packing.js';
import { encodeMinMax, quantize, roundHalfAway } from '../src/quant/params.js';

const sample = (bits: number, n: number) => Int32Array.from({ length: n }, (_, i) => ((i * 7919 + 13) % 2 ** bits) - 2 ** (bits - 1));

describe('bit packing', () => {
  for (let bits = 1; bits <= 16; bits++)
    it(`${bits}-bit pack then unpack gives the same integers`, () => {
      for (const n of [1, 7, 64, 1001]) {
        const v = sample(bits, n);
        const packed = bitPack(v, bits);
        expect(packed.length).toBe(Math.ceil((n * bits) / (bits < 8 ? 8 : 16)) * (bits < 8 ? 1 : 2));
        expect(Array.from(bitUnpack(packed, bits, n))).toEqual(Array.from(v));
      }
    });

  // [-4, 3, 0, 1, -1] stored as v + 2^(b-1), LSB-first (worked by hand in the comments).
  const v = [-4, 3, 0, 1, -1];
  const golden: [number, number[]][] = [
    [3, [0x38, 0x3b]], //   u = 0,7,4,5,3 -> bits 000 111 001 101 110
    [4, [0xb4, 0x98, 0x07]], // nibbles 4,11 | 8,9 | 7
    [7, [0xbc, 0x21, 0x30, 0xf8, 0x03]], // u = 60,67,64,65,63 in a 35-bit stream
    [9, [0xfc, 0x06, 0x02, 0x0c, 0xf8, 0x0f]], // 16-bit LE words: 0x06FC 0x0C02 0x0FF8
    [12, [0xfc, 0x37, 0x80, 0x00, 0x18, 0x80, 0xff, 0x07]], // words 0x37FC 0x0080 0x8018 0x07FF
  ];
  for (const [bits, bytes] of golden)
    it(`${bits}-bit golden bytes`, () => expect(Array.from(bitPack(v, bits))).toEqual(bytes));
});

describe('INDEXING and SPARSE', () => {
  it('round-trip and report their sizes', () => {
    const v = Int32Array.from({ length: 300 }, (_, i) => [0, 0, 0, 5, -3, 0, 0, 7][i % 8]);
    for (const bits of [4, 8, 12]) {
      const idx = indexingEncode(v, bits);
      expect(idx.length).toBe(Math.ceil(indexingSizeBits(v, bits) / 8));
      expect(Array.from(indexingDecode(idx, bits, v.length))).toEqual(Array.from(v));
      const zp = () => 0;
      const best = sparseBest(v, bits, zp);
      const sp = sparseEncode(v, bits, zp, best.coorBits);
      expect(sp.length).toBe(Math.ceil(best.sizeBits / 8));
      expect(Array.from(sparseDecode(sp, bits, v.length, zp))).toEqual(Array.from(v));
    }
  });
  it('SPARSE uses per-channel zero points and long runs', () => {
    const v = Int32Array.from({ length: 2000 }, (_, i) => (i === 1500 ? 9 : i < 1000 ? -2 : 3));
    const zp = (j: number) => (j < 1000 ? -2 : 3);
    const sp = sparseEncode(v, 8, zp, 3);
    expect(Array.from(sparseDecode(sp, 8, v.length, zp))).toEqual(Array.from(v));
  });
  it('INDEXING writes U as 0 when every code is used', () => {
    const v = Int32Array.from([-2, -1, 0, 1]);
    expect(indexingEncode(v, 2)[0] >> 6).toBe(0);
    expect(Array.from(indexingDecode(indexingEncode(v, 2), 2, 4))).toEqual([-2, -1, 0, 1]);
  });
});

describe('EncodeMinMax', () => {
  it('nudges the range to contain zero exactly', () => {
    const e = encodeMinMax(-0.5, 1.0, -128, 127);
    expect(e.scale).toBeCloseTo(1.5 / 255, 9);
    expect(e.zeroPoint).toBe(-128 + roundHalfAway(0.5 / (1.5 / 255)));
    expect(quantize(0, e.scale, e.zeroPoint, -128, 127)).toBe(e.zeroPoint);
    const pos = encodeMinMax(0.2, 0.9, -128, 127); // all positive: min becomes 0
    expect(pos.zeroPoint).toBe(-128);
    expect(pos.scale).toBeCloseTo(0.9 / 255, 9);
  });
  it('rounds halves away from zero like C', () => {
    expect(roundHalfAway(2.5)).toBe(3);
    expect(roundHalfAway(-2.5)).toBe(-3);
  });
});
