/* test_numerics.c - fixed-point primitives, QuantizeMultiplier, affine
 * quantization known answers, int4 packing, requantization. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "qnpu_golden.h"
#include "test_util.h"

/* ---- affine quantization: known answers from the literature ------------ */

/* Wu et al. 2020, affine int8: [-3, 4] -> s = 255/7, z = -18. */
static void test_numerics_affine_wu_int8(void **state) {
  (void)state;
  qnpu_qparams_t p;
  assert_int_equal(qnpu_golden_qparams_from_range(-3.0, 4.0, 8, QNPU_RANGE_ASYMMETRIC_WU, &p), QNPU_OK);
  assert_true(fabs(1.0 / p.scale - 255.0 / 7.0) < 1e-9);
  assert_int_equal(p.zero_point, -18);
  assert_int_equal(qnpu_golden_quantize(-3.0, &p), -127);
  assert_int_equal(qnpu_golden_quantize(1.0, &p), 18);
  /* 4 -> round(145.7) - 18 = 128, which saturates to 127. */
  assert_int_equal((int)round(4.0 / p.scale) + p.zero_point, 128);
  assert_int_equal(qnpu_golden_quantize(4.0, &p), 127);
}

/* Wu et al. 2020, symmetric (scale) int8 with +-127: [-4, 4] -> s = 31.75. */
static void test_numerics_symmetric_int8(void **state) {
  (void)state;
  qnpu_qparams_t p;
  assert_int_equal(qnpu_golden_qparams_from_range(-4.0, 4.0, 8, QNPU_RANGE_SYMMETRIC, &p), QNPU_OK);
  assert_true(fabs(1.0 / p.scale - 31.75) < 1e-12);
  assert_int_equal(p.zero_point, 0);
  assert_int_equal(qnpu_golden_quantize(1.0, &p), 32);
  assert_int_equal(qnpu_golden_quantize(4.0, &p), 127);
  assert_int_equal(qnpu_golden_quantize(-4.0, &p), -127);
  assert_true(fabs(qnpu_golden_dequantize(32, &p) - 32.0 / 31.75) < 1e-12);
}

/* Jacob et al. 2018 / MIT EfficientML lecture 5: 2-bit linear quantization. */
static void test_numerics_asymmetric_2bit_efficientml(void **state) {
  (void)state;
  static const double w[16] = {2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12,
                               -0.91, 1.92, 0, -1.03, 1.87, 0, 1.53, 1.49};
  static const int32_t want[16] = {1, -2, 0, -1, -1, -1, -2, 1, -2, 1, -1, -2, 1, -1, 0, 0};
  qnpu_qparams_t p;
  assert_int_equal(qnpu_golden_qparams_from_range(-1.08, 2.12, 2, QNPU_RANGE_ASYMMETRIC, &p), QNPU_OK);
  assert_true(fabs(p.scale - 1.07) < 0.005); /* 3.2 / 3 */
  assert_int_equal(p.zero_point, -1);
  for (int i = 0; i < 16; i++) assert_int_equal(qnpu_golden_quantize(w[i], &p), want[i]);
  /* Dequantization error is at most half a step inside the range. */
  for (int i = 0; i < 16; i++)
    assert_true(fabs(qnpu_golden_dequantize(want[i], &p) - w[i]) <= p.scale / 2 + 1e-9);
}

static void test_numerics_qparams_bad_range(void **state) {
  (void)state;
  qnpu_qparams_t p = {1.0, 7, 8};
  assert_int_equal(qnpu_golden_qparams_from_range(2.0, 1.0, 8, QNPU_RANGE_ASYMMETRIC, &p), QNPU_ERR_ARG);
  assert_int_equal(qnpu_golden_qparams_from_range(0.0, 0.0, 8, QNPU_RANGE_SYMMETRIC, &p), QNPU_ERR_ARG);
  assert_int_equal(qnpu_golden_qparams_from_range(NAN, 1.0, 8, QNPU_RANGE_ASYMMETRIC, &p), QNPU_ERR_ARG);
  assert_int_equal(qnpu_golden_qparams_from_range(-1.0, 1.0, 1, QNPU_RANGE_ASYMMETRIC, &p), QNPU_ERR_ARG);
  assert_int_equal(p.zero_point, 7); /* untouched on error */
  /* A range that excludes 0 is widened so that 0 stays exact. */
  assert_int_equal(qnpu_golden_qparams_from_range(1.0, 2.0, 8, QNPU_RANGE_ASYMMETRIC, &p), QNPU_OK);
  assert_int_equal(p.zero_point, -128);
  assert_int_equal(qnpu_golden_quantize(0.0, &p), -128);
}

/* ---- QuantizeMultiplier -------------------------------------------------- */

static void qm(double real, int32_t m0, int shift) {
  int32_t got_m0 = -1;
  int got_shift = -99;
  assert_int_equal(qnpu_golden_quantize_multiplier(real, &got_m0, &got_shift), QNPU_OK);
  if (got_m0 != m0 || got_shift != shift)
    fail_msg("QuantizeMultiplier(%.17g) = (%d, %d), want (%d, %d)", real, got_m0, got_shift, m0, shift);
}

static void test_numerics_quantize_multiplier_edges(void **state) {
  (void)state;
  qm(0.5, 1 << 30, 0);
  qm(1.0, 1 << 30, 1);
  qm(3.0, 1610612736, 2);
  qm(ldexp(1.0, -32), 1 << 30, -31);
  qm(ldexp(1.0, -33), 0, 0);
  qm(1.0 - ldexp(1.0, -32), 1 << 30, 1);  /* rounds up to 2^31: renormalised */
  qm(1.0 - ldexp(1.0, -31), 2147483647, 0);
  qm(0.0, 0, 0);
  qm(ldexp(1.0, 29), 1 << 30, 30);       /* largest power of two allowed */
  qm(0.75, 1610612736, 0);
  /* Ties round half away from zero: q * 2^31 = 2^30 + 0.5 -> 2^30 + 1. */
  qm(0.5 + ldexp(1.0, -32), (1 << 30) + 1, 0);
  int32_t m = 5;
  int s = 5;
  assert_int_equal(qnpu_golden_quantize_multiplier(-0.5, &m, &s), QNPU_ERR_ARG);
  assert_int_equal(qnpu_golden_quantize_multiplier(NAN, &m, &s), QNPU_ERR_ARG);
  assert_int_equal(qnpu_golden_quantize_multiplier(INFINITY, &m, &s), QNPU_ERR_ARG);
  assert_int_equal(qnpu_golden_quantize_multiplier(ldexp(1.0, 30), &m, &s), QNPU_ERR_ARG);
  assert_int_equal(m, 5);
  assert_int_equal(s, 5);
}

/* Round trip: M0 * 2^(shift-31) is within half an LSB of M0 of real. */
static void test_numerics_quantize_multiplier_random(void **state) {
  (void)state;
  test_rng_t r = {test_master_seed() ^ 0x1};
  for (int i = 0; i < 200000; i++) {
    const double real = ldexp((double)(rng_next(&r) >> 11) / 9007199254740992.0,
                              rng_range(&r, -31, 30));
    int32_t m0;
    int sh;
    if (real == 0.0) continue;
    assert_int_equal(qnpu_golden_quantize_multiplier(real, &m0, &sh), QNPU_OK);
    if (m0 == 0) {
      assert_true(real < ldexp(1.0, -32));
      continue;
    }
    assert_true(m0 >= (1 << 30));
    assert_true(sh >= -31 && sh <= 30);
    const double back = ldexp((double)m0, sh - 31);
    assert_true(fabs(back - real) <= ldexp(0.5, sh - 31) * 1.000001);
  }
}

/* ---- SRDHM / RDBPOT ------------------------------------------------------ */

static void test_numerics_srdhm_ties_and_saturation(void **state) {
  (void)state;
  const int32_t half = 1 << 30; /* b = 2^30: a * b / 2^31 = a / 2 */
  assert_int_equal(qnpu_golden_srdhm(1, half), 1);   /*  0.5 -> 1 (toward +inf) */
  assert_int_equal(qnpu_golden_srdhm(-1, half), 0);  /* -0.5 -> 0               */
  assert_int_equal(qnpu_golden_srdhm(3, half), 2);   /*  1.5 -> 2               */
  assert_int_equal(qnpu_golden_srdhm(-3, half), -1); /* -1.5 -> -1              */
  assert_int_equal(qnpu_golden_srdhm(-5, half), -2); /* -2.5 -> -2              */
  assert_int_equal(qnpu_golden_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
  assert_int_equal(qnpu_golden_srdhm(INT32_MIN, INT32_MAX), -INT32_MAX);
  assert_int_equal(qnpu_golden_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
  assert_int_equal(qnpu_golden_srdhm(INT32_MIN, half), -(1 << 30));
  assert_int_equal(qnpu_golden_srdhm(0, INT32_MIN), 0);
}

static void test_numerics_rdbpot_ties(void **state) {
  (void)state;
  assert_int_equal(qnpu_golden_rdbpot(5, 1), 3);    /*  2.5 -> 3 (away from 0) */
  assert_int_equal(qnpu_golden_rdbpot(-5, 1), -3);  /* -2.5 -> -3              */
  assert_int_equal(qnpu_golden_rdbpot(3, 1), 2);
  assert_int_equal(qnpu_golden_rdbpot(-3, 1), -2);
  assert_int_equal(qnpu_golden_rdbpot(6, 2), 2);    /*  1.5 -> 2 */
  assert_int_equal(qnpu_golden_rdbpot(-6, 2), -2);  /* -1.5 -> -2 */
  assert_int_equal(qnpu_golden_rdbpot(-7, 2), -2);  /* -1.75 */
  assert_int_equal(qnpu_golden_rdbpot(-5, 2), -1);  /* -1.25 */
  assert_int_equal(qnpu_golden_rdbpot(INT32_MIN, 31), -1);
  assert_int_equal(qnpu_golden_rdbpot(INT32_MAX, 31), 1);
  assert_int_equal(qnpu_golden_rdbpot(1 << 30, 31), 1);     /*  0.5 -> 1 */
  assert_int_equal(qnpu_golden_rdbpot(-(1 << 30), 31), -1); /* -0.5 -> -1 */
  assert_int_equal(qnpu_golden_rdbpot((1 << 30) - 1, 31), 0);
  assert_int_equal(qnpu_golden_rdbpot(-1, 0), -1);
  assert_int_equal(qnpu_golden_rdbpot(INT32_MIN, 1), -(1 << 30));
}

/* ---- MBQM against an independent wide-integer formula -------------------- */

__extension__ typedef __int128 i128;

static i128 floor_div(i128 a, i128 b) { /* b > 0 */
  i128 q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The contract in plain arithmetic: saturate x*2^left to int32, multiply by
 * M0/2^31 rounding half up (saturating), divide by 2^right rounding half away
 * from zero. No shifts or masks of the production code. */
static int32_t mbqm_wide(int32_t x, int32_t m0, int shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  i128 xs = (i128)x * ((i128)1 << left);
  if (xs > INT32_MAX) xs = INT32_MAX;
  if (xs < INT32_MIN) xs = INT32_MIN;
  i128 t = floor_div(xs * m0 + ((i128)1 << 30), (i128)1 << 31);
  if (t > INT32_MAX) t = INT32_MAX;
  if (right == 0) return (int32_t)t;
  const i128 d = (i128)1 << right;
  const i128 mag = t < 0 ? -t : t;
  const i128 q = (2 * mag + d) / (2 * d); /* |t|/d + 1/2, floored */
  return (int32_t)(t < 0 ? -q : q);
}

static int32_t interesting_int32(test_rng_t *r) {
  static const int32_t special[] = {0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MIN + 1,
                                    INT32_MAX - 1, 1 << 30, -(1 << 30), 255, -255, 32640};
  const uint64_t k = rng_next(r) % 8;
  if (k == 0) return special[rng_next(r) % (sizeof special / sizeof special[0])];
  if (k == 1) { /* a power of two, +-1: rounding boundaries */
    const int32_t p = (int32_t)(INT64_C(1) << rng_range(r, 0, 30));
    return p + rng_range(r, -1, 1) * (rng_next(r) & 1 ? 1 : -1) * (rng_next(r) & 1 ? 1 : -1);
  }
  if (k == 2) return rng_range(r, -70000, 70000); /* typical accumulators */
  return (int32_t)(uint32_t)rng_next(r);
}

static void test_numerics_mbqm_vs_wide_formula(void **state) {
  (void)state;
  const uint64_t seed = test_master_seed();
  const char *n_env = getenv("QNPU_N");
  const long n = n_env && *n_env ? atol(n_env) : 4000000L;
  test_rng_t r = {seed};
  long positive_shifts = 0, saturated = 0;
  for (long i = 0; i < n; i++) {
    const int32_t x = interesting_int32(&r);
    int32_t m0 = (int32_t)((1u << 30) | (uint32_t)(rng_next(&r) & 0x3FFFFFFF));
    if (rng_next(&r) % 64 == 0) m0 = interesting_int32(&r);
    const int shift = rng_range(&r, -31, 30);
    const int32_t got = qnpu_golden_mbqm(x, m0, shift);
    const int32_t want = mbqm_wide(x, m0, shift);
    if (shift > 0) positive_shifts++;
    const int64_t scaled = (int64_t)x * (INT64_C(1) << (shift > 0 ? shift : 0));
    if (scaled > INT32_MAX || scaled < INT32_MIN) saturated++;
    if (got != want)
      fail_msg("mbqm(%d, %d, %d) = %d, wide formula %d\n"
               "repro: QNPU_SEED=%llu QNPU_N=%ld build/tests/test_numerics (iteration %ld)",
               x, m0, shift, got, want, (unsigned long long)seed, n, i);
  }
  print_message("mbqm: %ld random inputs, %ld with positive shift (%ld saturated), seed %llu\n", n,
                positive_shifts, saturated, (unsigned long long)seed);
  assert_true(positive_shifts > n / 3);
  assert_true(saturated > 0);
}

/* The left shift saturates (qnpu's definition of what TFLite leaves open). */
static void test_numerics_mbqm_positive_shift_saturates(void **state) {
  (void)state;
  /* 2^30 << 2 = 2^32 -> INT32_MAX; * 2^30 / 2^31 = 1073741823.5 -> up. */
  assert_int_equal(qnpu_golden_mbqm(1 << 30, 1 << 30, 2), 1073741824);
  assert_int_equal(qnpu_golden_mbqm(-(1 << 30), 1 << 30, 2), -(1 << 30));
  assert_int_equal(qnpu_golden_mbqm(INT32_MIN, INT32_MIN, 1), INT32_MAX);
  assert_int_equal(qnpu_golden_mbqm(100, 1 << 30, 3), 400); /* 100 * 8 / 2 */
  assert_int_equal(qnpu_golden_mbqm(100, 1 << 30, -1), 25);
  /* Double rounding: SRDHM 2.5 -> 3, then RDBPOT 1.5 -> 2 (one rounding of
   * 5/4 would give 1). */
  assert_int_equal(qnpu_golden_mbqm(5, 1 << 30, -1), 2);
}

/* ---- int4 packing -------------------------------------------------------- */

static void test_numerics_int4_pack_cmsis_order(void **state) {
  (void)state;
  const int8_t w[5] = {1, 2, 3, 4, -8};
  uint8_t packed[3] = {0xAA, 0xAA, 0xAA};
  assert_int_equal(qnpu_golden_int4_packed_size(4), 2);
  assert_int_equal(qnpu_golden_int4_packed_size(5), 3);
  assert_int_equal(qnpu_golden_pack_int4(w, 4, packed), QNPU_OK);
  assert_int_equal(packed[0], 0x21); /* CMSIS-NN: [1,2,3,4] -> [0x21, 0x43] */
  assert_int_equal(packed[1], 0x43);
  assert_int_equal(qnpu_golden_pack_int4(w, 5, packed), QNPU_OK);
  assert_int_equal(packed[2], 0x08); /* odd count: high nibble 0 */
  int8_t back[5];
  qnpu_golden_unpack_int4(packed, 5, back);
  assert_memory_equal(back, w, 5);
  const int8_t neg[2] = {-1, 7};
  assert_int_equal(qnpu_golden_pack_int4(neg, 2, packed), QNPU_OK);
  assert_int_equal(packed[0], 0x7F);
  const int8_t bad[2] = {0, 8};
  packed[0] = 0x55;
  assert_int_equal(qnpu_golden_pack_int4(bad, 2, packed), QNPU_ERR_ARG);
  assert_int_equal(packed[0], 0x55);
  /* Every value round-trips. */
  int8_t all[16], out[16];
  uint8_t p8[8];
  for (int i = 0; i < 16; i++) all[i] = (int8_t)(i - 8);
  assert_int_equal(qnpu_golden_pack_int4(all, 16, p8), QNPU_OK);
  qnpu_golden_unpack_int4(p8, 16, out);
  assert_memory_equal(out, all, 16);
}

/* ---- requantize ------------------------------------------------------------ */

static void test_numerics_requantize_clamp_and_zero_point(void **state) {
  (void)state;
  int32_t m0 = 1 << 30, sh = 0; /* scale 0.5 */
  qnpu_requant_t rq = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 0, .multiplier = &m0, .shift = &sh,
                       .scale = NULL, .output_zero_point = -128, .act_min = -128, .act_max = 127};
  assert_int_equal(qnpu_golden_requant_check(&rq, 4), QNPU_OK);
  assert_int_equal(qnpu_golden_requantize(10, 3, &rq), 5 - 128);
  assert_int_equal(qnpu_golden_requantize(1000, 0, &rq), 127);
  assert_int_equal(qnpu_golden_requantize(-1000, 0, &rq), -128);
  rq.output_zero_point = 127;
  assert_int_equal(qnpu_golden_requantize(-9, 0, &rq), 127 - 4); /* SRDHM: -4.5 -> -4 */
  rq.act_min = rq.act_max = 3; /* act_min == act_max pins every output */
  for (int32_t a = -300; a <= 300; a += 7) assert_int_equal(qnpu_golden_requantize(a, 0, &rq), 3);
  rq.act_min = 4;
  assert_int_equal(qnpu_golden_requant_check(&rq, 1), QNPU_ERR_ARG);
  rq.act_min = -8;
  rq.act_max = 7; /* int4 output */
  rq.output_zero_point = -8;
  assert_int_equal(qnpu_golden_requantize(40, 0, &rq), 7);
  assert_int_equal(qnpu_golden_requantize(-40, 0, &rq), -8);
  assert_int_equal(qnpu_golden_requantize(20, 0, &rq), 2);
  sh = 31;
  assert_int_equal(qnpu_golden_requant_check(&rq, 1), QNPU_ERR_ARG);
}

static void test_numerics_requantize_float_rne_ties_to_even(void **state) {
  (void)state;
  double s = 0.5;
  qnpu_requant_t rq = {.mode = QNPU_REQUANT_FLOAT_RNE, .per_channel = 0, .multiplier = NULL, .shift = NULL,
                       .scale = &s, .output_zero_point = 0, .act_min = -128, .act_max = 127};
  assert_int_equal(qnpu_golden_requantize(5, 0, &rq), 2);   /*  2.5 -> 2 */
  assert_int_equal(qnpu_golden_requantize(7, 0, &rq), 4);   /*  3.5 -> 4 */
  assert_int_equal(qnpu_golden_requantize(-5, 0, &rq), -2); /* -2.5 -> -2 */
  assert_int_equal(qnpu_golden_requantize(-7, 0, &rq), -4);
  assert_int_equal(qnpu_golden_requantize(1000, 0, &rq), 127);
  qnpu_requant_t none = {.mode = QNPU_REQUANT_NONE, .per_channel = 0, .multiplier = NULL, .shift = NULL, .scale = NULL,
                         .output_zero_point = 0, .act_min = 0, .act_max = 0};
  assert_int_equal(qnpu_golden_requantize(INT32_MIN, 0, &none), INT32_MIN);
}

static float f32_of_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/* ort_f32, ONNX Runtime's float32 requantization: three roundings, each
 * half to even. Every case below was worked out in exact rational
 * arithmetic; the comment gives the exact product and what float64
 * (float_rne) would give. */
static void test_numerics_requantize_ort_f32_roundings(void **state) {
  (void)state;
  float s = 0.5f;
  qnpu_requant_t rq = {.mode = QNPU_REQUANT_ORT_F32, .scale_f32 = &s, .act_min = -128, .act_max = 127};
  assert_int_equal(qnpu_golden_requant_check(&rq, 1), QNPU_OK);
  /* exact ties: half to even */
  assert_int_equal(qnpu_golden_requantize(5, 0, &rq), 2);
  assert_int_equal(qnpu_golden_requantize(7, 0, &rq), 4);
  assert_int_equal(qnpu_golden_requantize(-5, 0, &rq), -2);
  assert_int_equal(qnpu_golden_requantize(-7, 0, &rq), -4);
  /* 1: int32 -> float32 keeps 24 bits: 2^24 + 1 -> 2^24 (tie to even),
   * 2^24 + 3 -> 2^24 + 4 */
  s = 1.0f;
  rq.act_min = INT32_MIN, rq.act_max = INT32_MAX;
  assert_int_equal(qnpu_golden_requantize((1 << 24) + 1, 0, &rq), 1 << 24);
  assert_int_equal(qnpu_golden_requantize((1 << 24) + 3, 0, &rq), (1 << 24) + 4);
  /* ... and decides: 16778751 -> 16778752, x 2^-10 = 16385.5 -> 16386 (from
   * 16778751 itself: 16385.499 -> 16385) */
  s = 1.0f / 1024.0f;
  assert_int_equal(qnpu_golden_requantize(16778751, 0, &rq), 16386);
  assert_int_equal(qnpu_golden_requantize(-16778751, 0, &rq), -16386);
  /* 2: the product rounded to float32, then to an integer:
   * 689802 x s (0x3c114d21) = 6117.49981 -> float32 6117.5 -> 6118 (float64: 6117)
   * 762980 x s (0x3bf086e1) = 5600.50024 -> float32 5600.5 -> 5600 (float64: 5601)
   * 12342582 x s (0x3fd9c512) = 20998763.18 -> float32 20998764 (float64: 20998763)
   * 20296791 -> float32 20296792, x s (0x3f79a8cb) -> 19794078 (exact 19794076.56) */
  const struct {
    int32_t acc;
    uint32_t bits;
    int32_t want;
  } k[] = {{689802, 0x3c114d21u, 6118},
           {762980, 0x3bf086e1u, 5600},
           {12342582, 0x3fd9c512u, 20998764},
           {20296791, 0x3f79a8cbu, 19794078},
           {-689802, 0x3c114d21u, -6118}};
  for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
    s = f32_of_bits(k[i].bits);
    assert_int_equal(qnpu_golden_requantize(k[i].acc, 0, &rq), k[i].want);
  }
  /* zero point, clamp, an infinite product, bad scales */
  s = 0.5f;
  rq.output_zero_point = 10, rq.act_min = -128, rq.act_max = 127;
  assert_int_equal(qnpu_golden_requantize(5, 0, &rq), 12);
  assert_int_equal(qnpu_golden_requantize(1000, 0, &rq), 127);
  assert_int_equal(qnpu_golden_requantize(-1000, 0, &rq), -128);
  s = 3.0e38f;
  assert_int_equal(qnpu_golden_requantize(INT32_MAX, 0, &rq), 127);  /* +inf */
  assert_int_equal(qnpu_golden_requantize(INT32_MIN, 0, &rq), -128); /* -inf */
  assert_int_equal(qnpu_golden_requantize(0, 0, &rq), 10);
  s = -1.0f;
  assert_int_equal(qnpu_golden_requant_check(&rq, 1), QNPU_ERR_ARG);
  s = f32_of_bits(0x7fc00000u); /* NaN */
  assert_int_equal(qnpu_golden_requant_check(&rq, 1), QNPU_ERR_ARG);
  rq.scale_f32 = NULL;
  assert_int_equal(qnpu_golden_requant_check(&rq, 1), QNPU_ERR_ARG);
  /* the scale as ONNX Runtime forms it: (0.1f * 0.2f) / 0.3f in float32 */
  const float xw = 0.1f * 0.2f;
  assert_true(qnpu_golden_ort_scale(0.1f, 0.2f, 0.3f) == xw / 0.3f);
}

/* Per-channel vs per-tensor: index 0 serves all channels when !per_channel. */
static void test_numerics_requantize_per_channel(void **state) {
  (void)state;
  int32_t m0[3] = {1 << 30, 1 << 30, 1 << 30};
  int32_t sh[3] = {0, -1, 1};
  qnpu_requant_t rq = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 1, .multiplier = m0, .shift = sh, .scale = NULL,
                       .output_zero_point = 0, .act_min = -128, .act_max = 127};
  int32_t acc[6] = {40, 40, 40, -40, -40, -40}, out[6];
  qnpu_golden_requantize_rows(acc, 2, 3, &rq, out);
  const int32_t want[6] = {20, 10, 40, -20, -10, -40};
  assert_memory_equal(out, want, sizeof want);
  rq.per_channel = 0;
  qnpu_golden_requantize_rows(acc, 2, 3, &rq, out);
  const int32_t want_t[6] = {20, 20, 20, -20, -20, -20};
  assert_memory_equal(out, want_t, sizeof want_t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numerics_affine_wu_int8),
      cmocka_unit_test(test_numerics_symmetric_int8),
      cmocka_unit_test(test_numerics_asymmetric_2bit_efficientml),
      cmocka_unit_test(test_numerics_qparams_bad_range),
      cmocka_unit_test(test_numerics_quantize_multiplier_edges),
      cmocka_unit_test(test_numerics_quantize_multiplier_random),
      cmocka_unit_test(test_numerics_srdhm_ties_and_saturation),
      cmocka_unit_test(test_numerics_rdbpot_ties),
      cmocka_unit_test(test_numerics_mbqm_vs_wide_formula),
      cmocka_unit_test(test_numerics_mbqm_positive_shift_saturates),
      cmocka_unit_test(test_numerics_int4_pack_cmsis_order),
      cmocka_unit_test(test_numerics_requantize_clamp_and_zero_point),
      cmocka_unit_test(test_numerics_requantize_float_rne_ties_to_even),
      cmocka_unit_test(test_numerics_requantize_ort_f32_roundings),
      cmocka_unit_test(test_numerics_requantize_per_channel),
  };
  return cmocka_run_group_tests_name("numerics", tests, NULL, NULL);
}
