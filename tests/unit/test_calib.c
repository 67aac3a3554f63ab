/* test_calib.c - the calibrators on histograms whose thresholds can be
 * worked out by hand, the entropy calibrator clipping a long tail (and not
 * clipping a uniform distribution), the histogram's growth, and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "qnpu_calib.h"
#include "test_util.h"

static void test_calib_max(void **s) {
  (void)s;
  qnpu_hist_t h;
  qnpu_hist_init(&h);
  const float x[] = {-3.0f, 1.0f, 2.5f, 0.0f};
  assert_int_equal(qnpu_hist_add(&h, x, 4), QNPU_OK);
  const qnpu_calib_t c = {QNPU_CALIB_MAX, 0, 0};
  double t, lo, hi;
  assert_int_equal(qnpu_calib_threshold(&h, &c, &t), QNPU_OK);
  assert_true(t == 3.0);
  assert_int_equal(qnpu_calib_range(&h, &c, &lo, &hi), QNPU_OK);
  assert_true(lo == -3.0 && hi == 2.5);
}

/* Bins of width 1: 100 values in each of bins 0..9 and one outlier in bin
 * 100 (1001 values). 99.9 % of 1001 is 999.999: bins 0..9 hold 1000, so T
 * is the top edge of bin 9, 10. 99.99 % is 1000.8999: the outlier's bin is
 * needed, T = 101, clipped to the data's max 100.5. */
static void test_calib_percentile_by_hand(void **s) {
  (void)s;
  qnpu_hist_t h;
  qnpu_hist_init(&h);
  h.width = 1.0;
  for (int b = 0; b < 10; b++) h.hist[b] = 100;
  h.hist[100] = 1;
  h.count = 1001;
  h.min = 0.0;
  h.max = 100.5;
  qnpu_calib_t c = {QNPU_CALIB_PERCENTILE, 99.9, 0};
  double t, lo, hi;
  assert_int_equal(qnpu_calib_threshold(&h, &c, &t), QNPU_OK);
  assert_true(t == 10.0);
  assert_int_equal(qnpu_calib_range(&h, &c, &lo, &hi), QNPU_OK);
  assert_true(lo == 0.0 && hi == 10.0); /* a ReLU output: [0, T] */
  c.percentile = 99.99;
  assert_int_equal(qnpu_calib_threshold(&h, &c, &t), QNPU_OK);
  assert_true(t == 100.5);
  c.percentile = 50;
  assert_int_equal(qnpu_calib_threshold(&h, &c, &t), QNPU_OK);
  assert_true(t == 6.0); /* 500.5 values: bins 0..5 hold 600 */
}

/* A long tail: most values within 10, a few up to 1000. Entropy clips it
 * (well below max); a uniform distribution it does not clip. */
static void test_calib_entropy_long_tail_and_uniform(void **s) {
  (void)s;
  qnpu_hist_t h;
  qnpu_hist_init(&h);
  test_rng_t r = {test_master_seed()};
  float x[4096];
  for (int k = 0; k < 50; k++) {
    for (int i = 0; i < 4096; i++) {
      /* |x| ~ exponential with mean 2 (through the inverse CDF), positive */
      const double u = ((double)rng_range(&r, 1, 1000000)) / 1000001.0;
      x[i] = (float)(-2.0 * log(u));
    }
    if (k == 0) x[0] = 1000.0f; /* the tail */
    assert_int_equal(qnpu_hist_add(&h, x, 4096), QNPU_OK);
  }
  const qnpu_calib_t e = {QNPU_CALIB_ENTROPY, 0, 128}, m = {QNPU_CALIB_MAX, 0, 0};
  double te, tm;
  assert_int_equal(qnpu_calib_threshold(&h, &e, &te), QNPU_OK);
  assert_int_equal(qnpu_calib_threshold(&h, &m, &tm), QNPU_OK);
  assert_true(tm == 1000.0);
  if (!(te < 0.1 * tm && te > 5.0)) fail_msg("entropy threshold %g (max %g)", te, tm);
  /* uniform over [0, 100): the best threshold keeps (nearly) everything */
  qnpu_hist_init(&h);
  for (int k = 0; k < 20; k++) {
    for (int i = 0; i < 4096; i++) x[i] = (float)(rng_range(&r, 0, 999999) / 10000.0);
    assert_int_equal(qnpu_hist_add(&h, x, 4096), QNPU_OK);
  }
  assert_int_equal(qnpu_calib_threshold(&h, &e, &te), QNPU_OK);
  if (te < 0.95 * h.max) fail_msg("entropy clipped a uniform distribution at %g of %g", te, h.max);
}

/* Adding larger values later doubles the bin width and keeps the counts. */
static void test_calib_histogram_grows(void **s) {
  (void)s;
  qnpu_hist_t h;
  qnpu_hist_init(&h);
  const float a[] = {0.5f, 1.0f}, b[] = {100.0f}, bad[] = {NAN};
  assert_int_equal(qnpu_hist_add(&h, a, 2), QNPU_OK);
  const double w0 = h.width;
  assert_int_equal(qnpu_hist_add(&h, b, 1), QNPU_OK);
  assert_true(h.width >= 100.0 / QNPU_CALIB_BINS && h.width / w0 == exp2(round(log2(h.width / w0))));
  uint64_t total = 0;
  for (int i = 0; i < QNPU_CALIB_BINS; i++) total += h.hist[i];
  assert_int_equal(total, 3);
  assert_int_equal(h.count, 3);
  const qnpu_calib_t p = {QNPU_CALIB_PERCENTILE, 100, 0};
  double t;
  assert_int_equal(qnpu_calib_threshold(&h, &p, &t), QNPU_OK);
  assert_true(t == 100.0);
  assert_int_equal(qnpu_hist_add(&h, bad, 1), QNPU_ERR_ARG);
  qnpu_hist_t empty;
  qnpu_hist_init(&empty);
  assert_int_equal(qnpu_calib_threshold(&empty, &p, &t), QNPU_ERR_ARG);
}

static void test_calib_parse(void **s) {
  (void)s;
  qnpu_calib_t c;
  assert_int_equal(qnpu_calib_parse("max", &c), QNPU_OK);
  assert_int_equal(c.kind, QNPU_CALIB_MAX);
  assert_int_equal(qnpu_calib_parse("entropy", &c), QNPU_OK);
  assert_int_equal(c.kind, QNPU_CALIB_ENTROPY);
  assert_int_equal(qnpu_calib_parse("percentile:99.999", &c), QNPU_OK);
  assert_int_equal(c.kind, QNPU_CALIB_PERCENTILE);
  assert_true(c.percentile == 99.999);
  assert_int_equal(qnpu_calib_parse("percentile:", &c), QNPU_ERR_ARG);
  assert_int_equal(qnpu_calib_parse("percentile:101", &c), QNPU_ERR_ARG);
  assert_int_equal(qnpu_calib_parse("percentile:9x", &c), QNPU_ERR_ARG);
  assert_int_equal(qnpu_calib_parse("mse", &c), QNPU_ERR_ARG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calib_max),
      cmocka_unit_test(test_calib_percentile_by_hand),
      cmocka_unit_test(test_calib_entropy_long_tail_and_uniform),
      cmocka_unit_test(test_calib_histogram_grows),
      cmocka_unit_test(test_calib_parse),
  };
  return cmocka_run_group_tests_name("calib", tests, NULL, NULL);
}
