/* test_ort.c - the golden model's ONNX Runtime host operations
 * (QuantizeLinear, QLinearAdd, QLinearAveragePool, QLinearGlobalAveragePool)
 * against outputs recorded from ONNX Runtime 1.32 by tools/ort_host_cases.py
 * (tests/data/ort_host_ops.txt). The recorded parameter sets include those
 * where the plausible float32 formulas disagree, so a formula that is
 * right on most inputs but not ORT's fails here. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qnpu_golden.h"

#define CASES "tests/data/ort_host_ops.txt"

typedef struct {
  const char *s; /* the rest of the line */
  int line;
} cursor_t;

static void skip_ws(cursor_t *c) {
  while (*c->s == ' ') c->s++;
}

static long next_int(cursor_t *c) {
  skip_ws(c);
  char *end;
  const long v = strtol(c->s, &end, 10);
  if (end == c->s) fail_msg("line %d: an integer expected at \"%.20s\"", c->line, c->s);
  c->s = end;
  return v;
}

static float next_f32(cursor_t *c) {
  skip_ws(c);
  char hex[9] = {0};
  memcpy(hex, c->s, 8);
  c->s += 8;
  const uint32_t u = (uint32_t)strtoul(hex, NULL, 16);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* n float32 values written back to back as 8 hex digits each. */
static float *next_f32s(cursor_t *c, size_t n) {
  skip_ws(c);
  float *v = malloc(n * sizeof *v);
  assert_non_null(v);
  for (size_t i = 0; i < n; i++) v[i] = next_f32(c);
  return v;
}

/* n int8 values, 2 hex digits each; for a uint8 tensor (u8) the byte u is
 * returned as u - 128, qnpu's int8 domain. */
static int8_t *next_vals(cursor_t *c, size_t n, int u8);
static int8_t *next_i8s(cursor_t *c, size_t n) { return next_vals(c, n, 0); }

static int8_t *next_vals(cursor_t *c, size_t n, int u8) {
  skip_ws(c);
  int8_t *v = malloc(n ? n : 1);
  assert_non_null(v);
  for (size_t i = 0; i < n; i++) {
    unsigned b;
    if (sscanf(c->s + 2 * i, "%2x", &b) != 1) fail_msg("line %d: %zu hex bytes expected", c->line, n);
    v[i] = u8 ? (int8_t)((int)b - 128) : (int8_t)(uint8_t)b;
  }
  c->s += 2 * n;
  return v;
}

static void expect_same(const int8_t *got, const int8_t *want, size_t n, int line, const char *op) {
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i])
      fail_msg("%s:%d (%s): element %zu is %d, ONNX Runtime gives %d", CASES, line, op, i, got[i], want[i]);
}

typedef struct {
  int quant, add, avgpool, gap;
} counts_t;

/* QLinearAdd outputs where the fixed part formed without the fused
 * multiply-add would differ: the recorded cases must include some, or they
 * would not tell the two formulas apart. */
static size_t g_add_unfused_diffs, g_add_u8_diffs;

static void add_unfused(const qnpu_ort_add_t *p, const int8_t *a, const int8_t *b, size_t n, int8_t *out) {
  const float ra = p->a.scale / p->c.scale, rb = p->b.scale / p->c.scale;
  const float fixed = (float)p->c.zp - (ra * (float)p->a.zp + rb * (float)p->b.zp);
  for (size_t i = 0; i < n; i++) {
    const float r = nearbyintf(fmaf((float)a[i], ra, fmaf((float)b[i], rb, fixed)));
    out[i] = (int8_t)(r < -128.0f ? -128 : r > 127.0f ? 127 : (int32_t)r);
  }
}

static void check_quant(cursor_t *c) {
  const float s = next_f32(c);
  const int32_t zp = (int32_t)next_int(c);
  const size_t n = (size_t)next_int(c);
  float *x = next_f32s(c, n);
  int8_t *want = next_i8s(c, n), *got = malloc(n);
  assert_non_null(got);
  for (size_t i = 0; i < n; i++) got[i] = (int8_t)qnpu_golden_ort_quantize(x[i], s, zp, -128, 127);
  expect_same(got, want, n, c->line, "QuantizeLinear");
  free(x), free(want), free(got);
}

static void check_add(cursor_t *c) {
  qnpu_ort_add_t p;
  p.a.scale = next_f32(c), p.b.scale = next_f32(c), p.c.scale = next_f32(c);
  p.a.zp = (int32_t)next_int(c), p.b.zp = (int32_t)next_int(c), p.c.zp = (int32_t)next_int(c);
  const int u8 = (int)next_int(c);
  p.a.u8 = p.b.u8 = p.c.u8 = u8;
  if (u8) p.a.zp -= 128, p.b.zp -= 128, p.c.zp -= 128;
  const size_t n = (size_t)next_int(c);
  int8_t *a = next_vals(c, n, u8), *b = next_vals(c, n, u8), *want = next_vals(c, n, u8), *got = malloc(n);
  assert_non_null(got);
  qnpu_golden_ort_add(&p, a, b, n, got);
  expect_same(got, want, n, c->line, u8 ? "QLinearAdd uint8" : "QLinearAdd");
  if (u8) { /* the same operands as int8 (the uint8 offset ignored) differ somewhere: the offset matters */
    qnpu_ort_add_t s8 = p;
    s8.a.u8 = s8.b.u8 = s8.c.u8 = 0;
    qnpu_golden_ort_add(&s8, a, b, n, got);
    for (size_t i = 0; i < n; i++) g_add_u8_diffs += got[i] != want[i];
  } else {
    add_unfused(&p, a, b, n, got);
    for (size_t i = 0; i < n; i++) g_add_unfused_diffs += got[i] != want[i];
  }
  free(a), free(b), free(want), free(got);
}

static void check_avgpool(cursor_t *c) {
  const int32_t ch = (int32_t)next_int(c), h = (int32_t)next_int(c), w = (int32_t)next_int(c);
  const int32_t k = (int32_t)next_int(c), s = (int32_t)next_int(c), pad = (int32_t)next_int(c);
  const int cip = (int)next_int(c), u8 = (int)next_int(c);
  const float sx = next_f32(c);
  const int32_t zx = (int32_t)next_int(c) - (u8 ? 128 : 0);
  const float sy = next_f32(c);
  const int32_t zy = (int32_t)next_int(c) - (u8 ? 128 : 0);
  const qnpu_pool_params_t p = {.n = 1,
                                .h = h,
                                .w = w,
                                .c = ch,
                                .kh = k,
                                .kw = k,
                                .stride_h = s,
                                .stride_w = s,
                                .pad_top = pad,
                                .pad_left = pad,
                                .pad_bottom = pad,
                                .pad_right = pad,
                                .act_min = -128,
                                .act_max = 127};
  const int32_t oh = qnpu_golden_conv_out_dim(h, k, s, 1, pad, pad),
                ow = qnpu_golden_conv_out_dim(w, k, s, 1, pad, pad);
  const size_t ny = (size_t)oh * (size_t)ow * (size_t)ch;
  int8_t *x = next_vals(c, (size_t)h * w * ch, u8), *want = next_vals(c, ny, u8), *got = malloc(ny);
  assert_non_null(got);
  const qnpu_ort_q_t xq = {sx, zx, u8}, yq = {sy, zy, u8};
  assert_int_equal(qnpu_golden_ort_avg_pool(&p, cip, &xq, &yq, x, got), QNPU_OK);
  expect_same(got, want, ny, c->line, u8 ? "QLinearAveragePool uint8" : "QLinearAveragePool");
  free(x), free(want), free(got);
}

static void check_gap(cursor_t *c) {
  const int32_t ch = (int32_t)next_int(c), h = (int32_t)next_int(c), w = (int32_t)next_int(c);
  const float sx = next_f32(c);
  const int32_t zx = (int32_t)next_int(c);
  const float sy = next_f32(c);
  const int32_t zy = (int32_t)next_int(c);
  int8_t *x = next_i8s(c, (size_t)h * w * ch), *want = next_i8s(c, (size_t)ch), *got = malloc((size_t)ch);
  assert_non_null(got);
  assert_int_equal(qnpu_golden_ort_global_avg_pool(1, h * w, ch, sx, zx, sy, zy, x, got), QNPU_OK);
  expect_same(got, want, (size_t)ch, c->line, "QLinearGlobalAveragePool");
  free(x), free(want), free(got);
}

/* Every recorded case; at least a few of each operation must be there. */
static void test_recorded_cases(void **state) {
  (void)state;
  FILE *f = fopen(CASES, "r");
  if (!f) fail_msg("%s: cannot open (run the tests from the project root)", CASES);
  static char line[1 << 17];
  counts_t n = {0};
  for (int ln = 1; fgets(line, sizeof line, f); ln++) {
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_non_null(strchr(line, '\n')); /* the buffer held the whole line */
    line[strcspn(line, "\n")] = '\0';
    cursor_t c = {line, ln};
    const char *sp = strchr(line, ' ');
    assert_non_null(sp);
    c.s = sp;
    if (!strncmp(line, "quant ", 6))
      check_quant(&c), n.quant++;
    else if (!strncmp(line, "add ", 4))
      check_add(&c), n.add++;
    else if (!strncmp(line, "avgpool ", 8))
      check_avgpool(&c), n.avgpool++;
    else if (!strncmp(line, "gap ", 4))
      check_gap(&c), n.gap++;
    else
      fail_msg("%s:%d: unknown operation", CASES, ln);
    skip_ws(&c);
    if (*c.s) fail_msg("%s:%d: trailing text \"%.20s\"", CASES, ln, c.s);
  }
  fclose(f);
  assert_true(n.quant >= 5 && n.add >= 10 && n.avgpool >= 10 && n.gap >= 5);
  assert_true(g_add_unfused_diffs > 0);
  assert_true(g_add_u8_diffs > 0);
}

/* Ties round half to even, in float32: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2; the
 * clamp is applied before the zero point is added. */
static void test_quantize_ties_and_clamp(void **state) {
  (void)state;
  assert_int_equal(qnpu_golden_ort_quantize(2.5f, 1.0f, 0, -128, 127), 2);
  assert_int_equal(qnpu_golden_ort_quantize(3.5f, 1.0f, 0, -128, 127), 4);
  assert_int_equal(qnpu_golden_ort_quantize(-2.5f, 1.0f, 0, -128, 127), -2);
  assert_int_equal(qnpu_golden_ort_quantize(1e30f, 0.01f, 5, -128, 127), 127);
  assert_int_equal(qnpu_golden_ort_quantize(-1e30f, 0.01f, 5, -128, 127), -128);
  assert_int_equal(qnpu_golden_ort_quantize(1.0f, 0.1f, -3, -128, 127), 7);
  assert_int_equal(qnpu_golden_ort_quantize(NAN, 0.1f, 4, -128, 127), -128);
}

/* Refused like MLAS refuses: a global-pool scale outside [2^-32, 256). */
static void test_gap_scale_range(void **state) {
  (void)state;
  int8_t x[4] = {1, 2, 3, 4}, y[1];
  assert_int_equal(qnpu_golden_ort_global_avg_pool(1, 4, 1, 1024.0f, 0, 1.0f, 0, x, y), QNPU_ERR_ARG);    /* s = 256 */
  assert_int_equal(qnpu_golden_ort_global_avg_pool(1, 4, 1, 0x1.0p-31f, 0, 1.0f, 0, x, y), QNPU_ERR_ARG); /* 2^-33 */
  assert_int_equal(qnpu_golden_ort_global_avg_pool(1, 4, 1, 1.0f, 0, 1.0f, 0, x, y), QNPU_OK);
  /* (1+2+3+4) * float32(1/4) = 2.5 -> 2 (half to even) */
  assert_int_equal(y[0], 2);
  const qnpu_pool_params_t p = {
      .n = 1, .h = 2, .w = 2, .c = 1, .kh = 2, .kw = 2, .stride_h = 1, .stride_w = 1, .act_min = -128, .act_max = 127};
  const qnpu_ort_q_t one = {1.0f, 0, 0};
  assert_int_equal(qnpu_golden_ort_avg_pool(&p, 0, &one, &one, x, y), QNPU_OK);
  assert_int_equal(y[0], 2);
  assert_int_equal(qnpu_golden_ort_avg_pool(NULL, 0, &one, &one, x, y), QNPU_ERR_ARG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_recorded_cases),
      cmocka_unit_test(test_quantize_ties_and_clamp),
      cmocka_unit_test(test_gap_scale_range),
  };
  return cmocka_run_group_tests_name("ort", tests, NULL, NULL);
}
