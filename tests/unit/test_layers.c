/* test_layers.c - golden layers: hand-computed known answers and
 * cross-checks between formulations that share no loop structure. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "qnpu_golden.h"
#include "test_util.h"

static const qnpu_requant_t kRaw = {.mode = QNPU_REQUANT_NONE};

static void fill(test_rng_t *r, int8_t *v, size_t n, int bits) {
  const int32_t lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
  for (size_t i = 0; i < n; i++) v[i] = (int8_t)rng_range(r, lo, hi);
}

static void test_layers_conv2d_known_answer(void **state) {
  (void)state;
  const int8_t in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int8_t f[4] = {1, 1, 1, 1};
  const qnpu_conv_params_t p = {1, 3, 3, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0};
  int32_t out[4];
  assert_int_equal(qnpu_golden_conv2d(&p, &kRaw, in, f, NULL, out), QNPU_OK);
  const int32_t want[4] = {12, 16, 24, 28};
  assert_memory_equal(out, want, sizeof want);
  /* Same with padding 1 all round, Zx = 1: padded taps contribute 0, and
   * every real tap contributes x - 1. */
  qnpu_conv_params_t q = p;
  q.pad_top = q.pad_left = q.pad_bottom = q.pad_right = 1;
  q.input_zero_point = 1;
  int32_t out16[16];
  assert_int_equal(qnpu_golden_conv2d(&q, &kRaw, in, f, NULL, out16), QNPU_OK);
  assert_int_equal(out16[0], 0);              /* only x=1 -> 0 */
  assert_int_equal(out16[5], 12 - 4);         /* 1+2+4+5 - 4 */
  assert_int_equal(out16[15], 9 - 1);         /* only x=9 */
}

/* W4A4 known answer computed by hand (see comments for the arithmetic). */
static void test_layers_w4a4_known_answer(void **state) {
  (void)state;
  /* NHWC [1,2,2,2]; Zx = -1 so x - Zx = x + 1. */
  const int8_t in[8] = {7, -8, -1, 3, 0, 5, -8, -8};
  const int8_t f[4] = {7, -8, -1, 2}; /* OHWI [2,1,1,2] */
  const int32_t bias[2] = {3, -2};
  int32_t m0[2] = {1 << 30, 1 << 30}, sh[2] = {-3, -1}; /* 1/16, 1/4 */
  const qnpu_requant_t rq = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 1, .multiplier = m0, .shift = sh,
                             .scale = NULL, .output_zero_point = 1, .act_min = -8, .act_max = 7};
  const qnpu_conv_params_t p = {1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, -1, 0};
  int32_t out[8];
  assert_int_equal(qnpu_golden_conv2d(&p, &rq, in, f, bias, out), QNPU_OK);
  /* acc oc0 = 115, -29, -38, 10; oc1 = -24, 6, 9, -9 (bias included). */
  const int32_t want[8] = {7, -5, -1, 3, -1, 4, 2, -1};
  assert_memory_equal(out, want, sizeof want);
}

/* A random convolution problem and its buffers. */
typedef struct {
  qnpu_conv_params_t p;
  int8_t *in, *f;
  int32_t *bias;
  int32_t oh, ow;
} conv_case_t;

static void conv_case_make(test_rng_t *r, conv_case_t *c, int depthwise) {
  qnpu_conv_params_t p = {0};
  p.n = rng_range(r, 1, 2);
  p.h = rng_range(r, 1, 9);
  p.w = rng_range(r, 1, 9);
  p.kh = rng_range(r, 1, 3);
  p.kw = rng_range(r, 1, 3);
  p.stride_h = rng_range(r, 1, 3);
  p.stride_w = rng_range(r, 1, 3);
  p.dil_h = rng_range(r, 1, 2);
  p.dil_w = rng_range(r, 1, 2);
  p.pad_top = rng_range(r, 0, 2);
  p.pad_left = rng_range(r, 0, 2);
  p.pad_bottom = rng_range(r, 0, 2);
  p.pad_right = rng_range(r, 0, 2);
  p.groups = depthwise ? 1 : rng_range(r, 1, 3);
  p.depth_multiplier = depthwise ? rng_range(r, 1, 3) : 1;
  p.c = depthwise ? rng_range(r, 1, 5) : p.groups * rng_range(r, 1, 4);
  p.out_c = depthwise ? p.c * p.depth_multiplier : p.groups * rng_range(r, 1, 3);
  p.input_zero_point = rng_range(r, -128, 127);
  p.filter_zero_point = rng_next(r) % 4 == 0 ? rng_range(r, -128, 127) : 0;
  /* Make sure the dilated kernel fits. */
  while (qnpu_golden_conv_out_dim(p.h, p.kh, p.stride_h, p.dil_h, p.pad_top, p.pad_bottom) < 1) p.h++;
  while (qnpu_golden_conv_out_dim(p.w, p.kw, p.stride_w, p.dil_w, p.pad_left, p.pad_right) < 1) p.w++;
  c->p = p;
  c->oh = qnpu_golden_conv_out_dim(p.h, p.kh, p.stride_h, p.dil_h, p.pad_top, p.pad_bottom);
  c->ow = qnpu_golden_conv_out_dim(p.w, p.kw, p.stride_w, p.dil_w, p.pad_left, p.pad_right);
  const size_t nin = (size_t)p.n * p.h * p.w * p.c;
  const size_t nf = depthwise ? (size_t)p.kh * p.kw * p.out_c
                              : (size_t)p.out_c * p.kh * p.kw * (p.c / p.groups);
  c->in = malloc(nin);
  c->f = malloc(nf);
  c->bias = malloc(sizeof(int32_t) * (size_t)p.out_c);
  fill(r, c->in, nin, 8);
  fill(r, c->f, nf, 8);
  for (int32_t i = 0; i < p.out_c; i++) c->bias[i] = rng_range(r, -100000, 100000);
}

static void conv_case_free(conv_case_t *c) {
  free(c->in);
  free(c->f);
  free(c->bias);
}

static size_t out_count(const conv_case_t *c) {
  return (size_t)c->p.n * c->oh * c->ow * c->p.out_c;
}

/* Padding == explicit padding with the input zero point. */
static void test_layers_conv2d_padding_is_zero_point(void **state) {
  (void)state;
  const uint64_t seed = test_master_seed();
  for (int it = 0; it < 300; it++) {
    test_rng_t r = {seed + (uint64_t)it};
    conv_case_t c;
    conv_case_make(&r, &c, 0);
    const qnpu_conv_params_t *p = &c.p;
    qnpu_conv_params_t q = *p;
    q.h = p->h + p->pad_top + p->pad_bottom;
    q.w = p->w + p->pad_left + p->pad_right;
    q.pad_top = q.pad_left = q.pad_bottom = q.pad_right = 0;
    int8_t *padded = malloc((size_t)q.n * q.h * q.w * q.c);
    for (int32_t b = 0; b < q.n; b++)
      for (int32_t y = 0; y < q.h; y++)
        for (int32_t x = 0; x < q.w; x++)
          for (int32_t ch = 0; ch < q.c; ch++) {
            const int32_t iy = y - p->pad_top, ix = x - p->pad_left;
            const int inside = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w;
            padded[(((size_t)b * q.h + y) * q.w + x) * q.c + ch] =
                inside ? c.in[(((size_t)b * p->h + iy) * p->w + ix) * p->c + ch]
                       : (int8_t)p->input_zero_point;
          }
    const size_t n = out_count(&c);
    int32_t *o1 = malloc(n * 4), *o2 = malloc(n * 4);
    assert_int_equal(qnpu_golden_conv2d(p, &kRaw, c.in, c.f, c.bias, o1), QNPU_OK);
    assert_int_equal(qnpu_golden_conv2d(&q, &kRaw, padded, c.f, c.bias, o2), QNPU_OK);
    if (memcmp(o1, o2, n * 4))
      fail_msg("padding mismatch; repro: QNPU_SEED=%llu build/tests/test_layers (iteration %d)",
               (unsigned long long)seed, it);
    free(o1);
    free(o2);
    free(padded);
    conv_case_free(&c);
  }
}

/* A grouped convolution == one convolution per group on sliced channels. */
static void test_layers_grouped_conv_is_split(void **state) {
  (void)state;
  const uint64_t seed = test_master_seed();
  for (int it = 0; it < 300; it++) {
    test_rng_t r = {seed * 3 + (uint64_t)it};
    conv_case_t c;
    conv_case_make(&r, &c, 0);
    const qnpu_conv_params_t *p = &c.p;
    const int32_t cin = p->c / p->groups, cout = p->out_c / p->groups;
    const size_t n = out_count(&c), pix = (size_t)p->n * c.oh * c.ow;
    int32_t *whole = malloc(n * 4), *part = malloc(pix * (size_t)cout * 4);
    assert_int_equal(qnpu_golden_conv2d(p, &kRaw, c.in, c.f, c.bias, whole), QNPU_OK);
    qnpu_conv_params_t q = *p;
    q.groups = 1;
    q.c = cin;
    q.out_c = cout;
    int8_t *slice = malloc((size_t)p->n * p->h * p->w * cin);
    for (int32_t g = 0; g < p->groups; g++) {
      for (size_t px = 0; px < (size_t)p->n * p->h * p->w; px++)
        memcpy(slice + px * cin, c.in + px * p->c + (size_t)g * cin, (size_t)cin);
      const int8_t *fg = c.f + (size_t)g * cout * p->kh * p->kw * cin;
      assert_int_equal(qnpu_golden_conv2d(&q, &kRaw, slice, fg, c.bias + g * cout, part), QNPU_OK);
      for (size_t px = 0; px < pix; px++)
        if (memcmp(part + px * cout, whole + px * p->out_c + (size_t)g * cout, (size_t)cout * 4))
          fail_msg("group %d differs; repro: QNPU_SEED=%llu build/tests/test_layers (iteration %d)", g,
                   (unsigned long long)seed, it);
    }
    free(slice);
    free(whole);
    free(part);
    conv_case_free(&c);
  }
}

/* Depthwise with multiplier m == grouped conv with groups = C. */
static void test_layers_depthwise_is_grouped_conv(void **state) {
  (void)state;
  const uint64_t seed = test_master_seed();
  for (int it = 0; it < 300; it++) {
    test_rng_t r = {seed * 5 + (uint64_t)it};
    conv_case_t c;
    conv_case_make(&r, &c, 1);
    const qnpu_conv_params_t *p = &c.p;
    int32_t m0[16], sh[16];
    for (int i = 0; i < p->out_c; i++) {
      m0[i] = rng_range(&r, 1 << 30, INT32_MAX);
      sh[i] = rng_range(&r, -12, 2);
    }
    const qnpu_requant_t rq = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 1, .multiplier = m0, .shift = sh,
                               .scale = NULL, .output_zero_point = rng_range(&r, -128, 127), .act_min = -128,
                               .act_max = 127};
    const size_t n = out_count(&c);
    int32_t *o1 = malloc(n * 4), *o2 = malloc(n * 4);
    assert_int_equal(qnpu_golden_depthwise_conv2d(p, &rq, c.in, c.f, c.bias, o1), QNPU_OK);
    /* [1][KH][KW][O] -> OHWI [O][KH][KW][1] */
    int8_t *fg = malloc((size_t)p->out_c * p->kh * p->kw);
    for (int32_t oc = 0; oc < p->out_c; oc++)
      for (int32_t k = 0; k < p->kh * p->kw; k++) fg[(size_t)oc * p->kh * p->kw + k] = c.f[(size_t)k * p->out_c + oc];
    qnpu_conv_params_t q = *p;
    q.groups = p->c;
    assert_int_equal(qnpu_golden_conv2d(&q, &rq, c.in, fg, c.bias, o2), QNPU_OK);
    if (memcmp(o1, o2, n * 4))
      fail_msg("depthwise mismatch; repro: QNPU_SEED=%llu build/tests/test_layers (iteration %d)",
               (unsigned long long)seed, it);
    free(fg);
    free(o1);
    free(o2);
    conv_case_free(&c);
  }
}

/* Fully-connected == 1x1 conv; GEMM == fully-connected with B transposed. */
static void test_layers_fc_is_1x1_conv_and_gemm(void **state) {
  (void)state;
  const uint64_t seed = test_master_seed();
  for (int it = 0; it < 200; it++) {
    test_rng_t r = {seed * 7 + (uint64_t)it};
    const int32_t n = rng_range(&r, 1, 5), k = rng_range(&r, 1, 70), o = rng_range(&r, 1, 9);
    const int wbits = rng_next(&r) & 1 ? 4 : 8;
    int8_t *x = malloc((size_t)n * k), *w = malloc((size_t)o * k), *bt = malloc((size_t)k * o);
    int32_t bias[9], m0[9], sh[9];
    fill(&r, x, (size_t)n * k, 8);
    fill(&r, w, (size_t)o * k, wbits);
    for (int i = 0; i < o; i++) {
      bias[i] = rng_range(&r, -5000, 5000);
      m0[i] = rng_range(&r, 1 << 30, INT32_MAX);
      sh[i] = rng_range(&r, -10, 1);
    }
    const int32_t zx = rng_range(&r, -128, 127), zw = rng_next(&r) & 1 ? rng_range(&r, -8, 7) : 0;
    const qnpu_requant_t rq = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 1, .multiplier = m0, .shift = sh,
                               .scale = NULL, .output_zero_point = rng_range(&r, -128, 127), .act_min = -128,
                               .act_max = 127};
    int32_t *a = malloc((size_t)n * o * 4), *b = malloc((size_t)n * o * 4), *g = malloc((size_t)n * o * 4);
    assert_int_equal(qnpu_golden_fully_connected(n, k, o, zx, zw, &rq, x, w, bias, a), QNPU_OK);
    const qnpu_conv_params_t p = {n, 1, 1, k, o, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, zx, zw};
    assert_int_equal(qnpu_golden_conv2d(&p, &rq, x, w, bias, b), QNPU_OK);
    for (int32_t i = 0; i < o; i++)
      for (int32_t j = 0; j < k; j++) bt[(size_t)j * o + i] = w[(size_t)i * k + j];
    assert_int_equal(qnpu_golden_gemm(n, k, o, zx, zw, &rq, x, bt, bias, g), QNPU_OK);
    if (memcmp(a, b, (size_t)n * o * 4) || memcmp(a, g, (size_t)n * o * 4))
      fail_msg("fc/conv/gemm disagree; repro: QNPU_SEED=%llu build/tests/test_layers (iteration %d)",
               (unsigned long long)seed, it);
    free(x);
    free(w);
    free(bt);
    free(a);
    free(b);
    free(g);
  }
}

/* Accumulation wraps modulo 2^32 (docs/numerics.md). */
static void test_layers_accumulator_wraps(void **state) {
  (void)state;
  const int32_t k = 70000; /* 70000 * 255 * 128 > 2^31 */
  int8_t *x = malloc((size_t)k), *w = malloc((size_t)k);
  memset(x, -128, (size_t)k);
  memset(w, -128, (size_t)k);
  int32_t out;
  assert_int_equal(qnpu_golden_fully_connected(1, k, 1, 127, 0, &kRaw, x, w, NULL, &out), QNPU_OK);
  const int64_t exact = (int64_t)k * 255 * 128;
  assert_true(exact > INT32_MAX);
  assert_int_equal(out, (int32_t)(uint32_t)(uint64_t)exact);
  assert_true(out < 0); /* it really wrapped */
  free(x);
  free(w);
}

static void test_layers_bad_arguments(void **state) {
  (void)state;
  int8_t in[16] = {0}, f[16] = {0};
  int32_t out[16] = {0};
  qnpu_conv_params_t p = {1, 2, 2, 3, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 1, 0, 0};
  assert_int_equal(qnpu_golden_conv2d(&p, &kRaw, in, f, NULL, out), QNPU_ERR_ARG); /* 2 !| 3 */
  p.groups = 1;
  p.kh = 3; /* kernel taller than the input */
  assert_int_equal(qnpu_golden_conv2d(&p, &kRaw, in, f, NULL, out), QNPU_ERR_ARG);
  p.kh = 1;
  p.depth_multiplier = 1; /* depthwise needs O = C * m: 2 != 3 */
  assert_int_equal(qnpu_golden_depthwise_conv2d(&p, &kRaw, in, f, NULL, out), QNPU_ERR_ARG);
  p.stride_h = 0;
  assert_int_equal(qnpu_golden_conv2d(&p, &kRaw, in, f, NULL, out), QNPU_ERR_ARG);
  int32_t m0 = 1 << 30, sh = 31;
  const qnpu_requant_t bad = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 0, .multiplier = &m0, .shift = &sh,
                              .scale = NULL, .output_zero_point = 0, .act_min = -128, .act_max = 127};
  assert_int_equal(qnpu_golden_fully_connected(1, 4, 1, 0, 0, &bad, in, f, NULL, out), QNPU_ERR_ARG);
  assert_int_equal(qnpu_golden_gemm(0, 4, 1, 0, 0, &kRaw, in, f, NULL, out), QNPU_ERR_ARG);
}

/* ---- pooling ------------------------------------------------------------ */

static void test_layers_pooling_known_answers(void **state) {
  (void)state;
  const int8_t pos[4] = {1, 2, 3, 5}, neg[4] = {-1, -2, -3, -5};
  int8_t out[9];
  qnpu_pool_params_t p = {1, 2, 2, 1, 2, 2, 1, 1, 0, 0, 0, 0, -128, 127};
  assert_int_equal(qnpu_golden_avg_pool(&p, pos, out), QNPU_OK);
  assert_int_equal(out[0], 3); /* 2.75 */
  assert_int_equal(qnpu_golden_avg_pool(&p, neg, out), QNPU_OK);
  assert_int_equal(out[0], -3); /* -2.75 */
  assert_int_equal(qnpu_golden_max_pool(&p, neg, out), QNPU_OK);
  assert_int_equal(out[0], -1);
  p.act_max = 2;
  assert_int_equal(qnpu_golden_max_pool(&p, pos, out), QNPU_OK);
  assert_int_equal(out[0], 2); /* clamped */
  /* Ties round half away from zero: windows 1x2 over [1 2] and [-1 -2]. */
  qnpu_pool_params_t t = {1, 2, 2, 1, 1, 2, 1, 1, 0, 0, 0, 0, -128, 127};
  const int8_t tie[4] = {1, 2, -1, -2};
  assert_int_equal(qnpu_golden_avg_pool(&t, tie, out), QNPU_OK);
  assert_int_equal(out[0], 2);
  assert_int_equal(out[1], -2);
  /* Padding: 3x3 window with pad 1 on 3x3; corners average 4 real taps. */
  const int8_t in9[9] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  qnpu_pool_params_t q = {1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, -128, 127};
  assert_int_equal(qnpu_golden_avg_pool(&q, in9, out), QNPU_OK);
  assert_int_equal(out[0], 30);  /* (10+20+40+50)/4 */
  assert_int_equal(out[4], 50);  /* all nine */
  assert_int_equal(out[8], 70);  /* (50+60+80+90)/4 */
  assert_int_equal(out[1], 35);  /* (10+20+30+40+50+60)/6 */
  assert_int_equal(qnpu_golden_max_pool(&q, in9, out), QNPU_OK);
  assert_int_equal(out[0], 50);
  assert_int_equal(out[8], 90);
  /* A window entirely in the padding is an error, not a division by 0. */
  qnpu_pool_params_t z = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, -128, 127};
  assert_int_equal(qnpu_golden_avg_pool(&z, in9, out), QNPU_ERR_ARG);
}

/* ---- elementwise add -------------------------------------------------------- */

static void test_layers_add_equal_scales_is_saturating_sum(void **state) {
  (void)state;
  qnpu_add_params_t p;
  assert_int_equal(qnpu_golden_add_params(0.05, 0, 0.05, 0, 0.05, 0, -128, 127, &p), QNPU_OK);
  assert_int_equal(p.input1_multiplier, 1 << 30);
  assert_int_equal(p.input1_shift, 0);
  assert_int_equal(p.output_shift, -18);
  int8_t a[256], b[256], o[256];
  for (int i = 0; i < 256; i++) {
    a[i] = (int8_t)(i - 128);
    b[i] = (int8_t)(i % 7 * 20 - 60);
  }
  qnpu_golden_add(&p, a, b, 256, o);
  for (int i = 0; i < 256; i++) {
    int s = a[i] + b[i];
    s = s < -128 ? -128 : s > 127 ? 127 : s;
    assert_int_equal(o[i], s);
  }
}

/* Random scales: within 1 LSB of the real-valued sum. */
static void test_layers_add_random_scales_close_to_real(void **state) {
  (void)state;
  const uint64_t seed = test_master_seed();
  test_rng_t r = {seed * 11};
  for (int it = 0; it < 2000; it++) {
    const double s1 = ldexp(1.0 + (double)(rng_next(&r) % 1000) / 1000.0, rng_range(&r, -8, -3));
    const double s2 = ldexp(1.0 + (double)(rng_next(&r) % 1000) / 1000.0, rng_range(&r, -8, -3));
    const double sy = ldexp(1.0 + (double)(rng_next(&r) % 1000) / 1000.0, rng_range(&r, -7, -2));
    const int32_t z1 = rng_range(&r, -128, 127), z2 = rng_range(&r, -128, 127), zy = rng_range(&r, -128, 127);
    qnpu_add_params_t p;
    assert_int_equal(qnpu_golden_add_params(s1, z1, s2, z2, sy, zy, -128, 127, &p), QNPU_OK);
    int8_t a[64], b[64], o[64];
    fill(&r, a, 64, 8);
    fill(&r, b, 64, 8);
    qnpu_golden_add(&p, a, b, 64, o);
    for (int i = 0; i < 64; i++) {
      double real = (s1 * (a[i] - z1) + s2 * (b[i] - z2)) / sy + zy;
      real = real < -128 ? -128 : real > 127 ? 127 : real;
      if (fabs(o[i] - real) > 1.0)
        fail_msg("add %d+%d -> %d, real %.3f; repro: QNPU_SEED=%llu build/tests/test_layers", a[i], b[i],
                 o[i], real, (unsigned long long)seed);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layers_conv2d_known_answer),
      cmocka_unit_test(test_layers_w4a4_known_answer),
      cmocka_unit_test(test_layers_conv2d_padding_is_zero_point),
      cmocka_unit_test(test_layers_grouped_conv_is_split),
      cmocka_unit_test(test_layers_depthwise_is_grouped_conv),
      cmocka_unit_test(test_layers_fc_is_1x1_conv_and_gemm),
      cmocka_unit_test(test_layers_accumulator_wraps),
      cmocka_unit_test(test_layers_bad_arguments),
      cmocka_unit_test(test_layers_pooling_known_answers),
      cmocka_unit_test(test_layers_add_equal_scales_is_saturating_sum),
      cmocka_unit_test(test_layers_add_random_scales_close_to_real),
  };
  return cmocka_run_group_tests_name("layers", tests, NULL, NULL);
}
