/**
 * C[m, c0 + n] = sum_k A[m, k] * B[n, k]  (B given row-major as [N, K], i.e. "transposed"), the layout of
 * KHWC conv weights and FullConnection weights. 4x4 register blocking keeps 16 accumulators live so each
 * loaded A and B value is used four times.
 */
export function gemmNT(
  M: number, N: number, K: number,
  A: Float32Array, lda: number,
  B: Float32Array, ldb: number,
  C: Float32Array | Float64Array, ldc: number, c0 = 0,
): void {
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const a0 = m * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      const b0 = n * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k], x1 = A[a1 + k], x2 = A[a2 + k], x3 = A[a3 + k];
        const y0 = B[b0 + k], y1 = B[b1 + k], y2 = B[b2 + k], y3 = B[b3 + k];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      const o = c0 + n;
      C[m * ldc + o] = c00; C[m * ldc + o + 1] = c01; C[m * ldc + o + 2] = c02; C[m * ldc + o + 3] = c03;
      C[(m + 1) * ldc + o] = c10; C[(m + 1) * ldc + o + 1] = c11; C[(m + 1) * ldc + o + 2] = c12; C[(m + 1) * ldc + o + 3] = c13;
      C[(m + 2) * ldc + o] = c20; C[(m + 2) * ldc + o + 1] = c21; C[(m + 2) * ldc + o + 2] = c22; C[(m + 2) * ldc + o + 3] = c23;
      C[(m + 3) * ldc + o] = c30; C[(m + 3) * ldc + o + 1] = c31; C[(m + 3) * ldc + o + 2] = c32; C[(m + 3) * ldc + o + 3] = c33;
    }
    for (; n < N; n++) for (let r = m; r < m + 4; r++) C[r * ldc + c0 + n] = dot(A, r * lda, B, n * ldb, K);
  }
  for (; m < M; m++) for (let n = 0; n < N; n++) C[m * ldc + c0 + n] = dot(A, m * lda, B, n * ldb, K);
}

function dot(A: Float32Array, a: number, B: Float32Array, b: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += A[a + k] * B[b + k];
  return s;
}
