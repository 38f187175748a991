/*
 * Golden values for test/nnacl-math.test.ts: the float formulas of src/cpu/nnacl-math.ts written as C float
 * arithmetic (each operation rounded to float, no contraction), so the TypeScript emulation (Math.fround per
 * operation) is checked against real float32 hardware arithmetic, bit for bit.
 * Regenerate: gcc -O2 -ffp-contract=off -o /tmp/golden scripts/nnacl-math-golden.c -lm && /tmp/golden > test/fixtures/nnacl-math-golden.json
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const float EXP_MIN = -87.3365478515625f, EXP_MAX = 88.72283935546875f;

static uint32_t bits_of(float v) { uint32_t b; memcpy(&b, &v, 4); return b; }
static float half_pow2(int n) { int32_t b = (n + 126) << 23; float v; memcpy(&v, &b, 4); return v; }
static float clampf(float x) { return x > EXP_MAX ? EXP_MAX : x < EXP_MIN ? EXP_MIN : x; }

static float exp_vec(float x) {
  volatile float v = clampf(x);
  int n = (int)fmaf(v, 1.44269504088896341f, v < 0 ? -0.5f : 0.5f); /* truncating convert */
  volatile float nl = (float)n * 0.693147f;
  volatile float r = v - nl;
  volatile float t = r * (1.0f / 24 + r * (1.0f / 120));
  t = r * (0.5f + r * (1.0f / 6 + t));
  volatile float p = 1.0f + r * (1.0f + t);
  volatile float q = p * half_pow2(n);
  return 2.0f * q;
}

static float exp_scalar(float x) {
  volatile float v = clampf(x);
  volatile float y = v * 1.44269504088896341f;
  int n = (int)floorf(y + 0.5f);
  volatile float r = v - (float)n * 0.693147f;
  volatile float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120)))));
  volatile float s = 2.0f * half_pow2(n);
  return s * p;
}

static float sigmoid(float x) { return 1.0f / (1.0f + exp_vec(-x)); }
static float swish(float x) { return x * sigmoid(x); }
static float tanh_opt(float x) {
  if (x > 5.0f) return 1.0f;
  if (x < -5.0f) return -1.0f;
  volatile float s = x * x;
  volatile float a = (((s + 378.0f) * s + 17325.0f) * s + 135135.0f) * x;
  volatile float b = ((28.0f * s + 3150.0f) * s + 62370.0f) * s + 135135.0f;
  return a / b;
}
static float gelu_tanh(float x) {
  volatile float t1 = (x * 0.035677408136f) * x;
  volatile float t2 = (t1 + 0.79788456080287f) * x;
  return (x * 0.5f) * (tanh_opt(t2) + 1.0f);
}
static float elu(float x, float alpha) { return x > 0 ? x : (exp_vec(x) - 1.0f) * alpha; }
static float softplus(float x) { return (float)log1p(exp_scalar(x)); }

static void softmax_row(const float *x, int len, float *out) {
  float max = -3.4028234663852886e38f, sum = 0.0f;
  int k = 0;
  for (int i = 0; i < len; i++) if (x[i] > max) max = x[i];
  static const int widths[3] = {16, 8, 4};
  for (int w = 0; w < 3; w++) {
    int lanes = widths[w];
    if (len - k < lanes) continue;
    float acc[16] = {0};
    for (; k + lanes <= len; k += lanes)
      for (int l = 0; l < lanes; l++) {
        float e = exp_vec(x[k + l] - max);
        acc[l] += e;
        out[k + l] = e;
      }
    float block = acc[0];
    for (int l = 1; l < lanes; l++) block += acc[l];
    sum += block;
  }
  for (; k < len; k++) {
    float e = exp_scalar(x[k] - max);
    sum += e;
    out[k] = e;
  }
  float inv = 1.0f / sum;
  for (int j = 0; j < len; j++) out[j] *= inv;
}

/* Pseudo-random inputs (the JSON holds their bits): x_{k+1} = 1664525 x_k + 1013904223 mod 2^32, mapped to [-24, 24). */
static uint32_t seed = 12345;
static float next_input(void) {
  seed = seed * 1664525u + 1013904223u;
  return (float)((double)seed / 4294967296.0 * 48.0 - 24.0);
}

int main(void) {
  float inputs[600];
  int count = 0;
  const float fixed[] = {0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 4.9999f, -4.9999f, 5.0f, 5.0001f, -5.0001f, 1e-8f, -1e-8f,
                         0.34657359f, -0.34657359f, 10.0f, -10.0f, 87.0f, -87.0f, 88.5f, -87.5f, 100.0f, -100.0f};
  for (unsigned i = 0; i < sizeof fixed / sizeof fixed[0]; i++) inputs[count++] = fixed[i];
  while (count < 600) inputs[count++] = next_input();
  printf("{\n  \"inputs\": [");
  for (int i = 0; i < count; i++) printf("%s%u", i ? "," : "", bits_of(inputs[i]));
  const char *names[] = {"exp", "expScalar", "sigmoid", "swish", "tanh", "geluTanh", "elu", "softplus"};
  for (int fn = 0; fn < 8; fn++) {
    printf("],\n  \"%s\": [", names[fn]);
    for (int i = 0; i < count; i++) {
      float x = inputs[i], y = 0;
      switch (fn) {
        case 0: y = exp_vec(x); break;
        case 1: y = exp_scalar(x); break;
        case 2: y = sigmoid(x); break;
        case 3: y = swish(x); break;
        case 4: y = tanh_opt(x); break;
        case 5: y = gelu_tanh(x); break;
        case 6: y = elu(x, 1.5f); break;
        case 7: y = softplus(x); break;
      }
      printf("%s%u", i ? "," : "", bits_of(y));
    }
  }
  float row[87];
  softmax_row(inputs + 22, 87, row);
  printf("],\n  \"softmaxRow87\": [");
  for (int i = 0; i < 87; i++) printf("%s%u", i ? "," : "", bits_of(row[i]));
  printf("]\n}\n");
  return 0;
}
